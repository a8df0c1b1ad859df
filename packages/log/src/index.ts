// The public surface of @kesgate/log: the log shape kes and the gateway share.
export { LOG_FORMATS, type LogFormat, logFormat, logOptions, logOutput, createLogger } from './logger.js';

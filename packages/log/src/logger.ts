// The log of kes and the gateway: pino, one JSON object per line on stdout, in one shape for both: `level` as
// a label, `time` as an ISO string, `service` (kes or kesgate), `pid`, `msg`. `pretty` renders the same records
// for a terminal (pino-pretty); KESGATE_LOG_FORMAT overrides the config.
import { pino, type DestinationStream, type Level, type Logger, type LoggerOptions } from 'pino';
import pretty from 'pino-pretty';

export const LOG_FORMATS = ['json', 'pretty'] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];

/** KESGATE_LOG_FORMAT (json or pretty) wins over the config, so `npm start` can ask for pretty output. */
export function logFormat(configured: LogFormat = 'json', env: NodeJS.ProcessEnv = process.env): LogFormat {
  const fromEnv = env.KESGATE_LOG_FORMAT?.trim().toLowerCase();
  if (fromEnv === undefined || fromEnv === '') return configured;
  if ((LOG_FORMATS as readonly string[]).includes(fromEnv)) return fromEnv as LogFormat;
  throw new Error(`KESGATE_LOG_FORMAT must be json or pretty, not "${env.KESGATE_LOG_FORMAT}"`);
}

export function logOptions(service: string, level: Level | 'silent'): LoggerOptions {
  return {
    level,
    base: { service, pid: process.pid },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
  };
}

/** Where log lines go: stdout as JSON, or stdout through pino-pretty. */
export function logOutput(format: LogFormat): DestinationStream {
  if (format === 'pretty')
    return pretty({ destination: 1, sync: true, singleLine: true, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,service' });
  return pino.destination({ dest: 1, sync: true });
}

export function createLogger(service: string, level: Level | 'silent', format: LogFormat, destination?: DestinationStream): Logger {
  return pino(logOptions(service, level), destination ?? logOutput(format));
}

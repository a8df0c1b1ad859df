// @kesgate/gateway: the S3 gateway as a library (the `kesgate` CLI and the tests use the same entry points).
export { startGateway, type RunningGateway, type StartOptions } from './server.js';
export { startGatewayWithAdmin, AdminClient, type AdminGateway } from './admin/index.js';
export { loadConfig, parseConfig, ConfigError, type GatewayConfig, type GatewayConfigInput } from './config/load.js';
export { openFsStore, type ObjectStore } from './storage/index.js';

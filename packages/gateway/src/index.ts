// @kesgate/gateway: the S3 gateway as a library (the `kesgate` CLI and the tests use the same entry points).
export { startGateway, type RunningGateway, type StartOptions } from './server.js';
export { startGatewayWithAdmin, AdminClient, AdminRequestError, type AdminGateway } from './admin/index.js';
export { loadConfig, parseConfig, ConfigError, type GatewayConfig, type GatewayConfigInput } from './config/load.js';
export { openFsStore, type ObjectStore } from './storage/index.js';
export type { RotationJob } from './rotation/index.js';
// For the benchmarks: the upstream writer's part size and parallelism, and the SigV4 pieces their lean signer uses.
export { PART_SIZE, PARTS_IN_FLIGHT } from './storage/blobs/s3/writer.js';
export {
  ALGORITHM,
  canonicalHeaders,
  canonicalQueryString,
  canonicalRequest,
  credentialScope,
  deriveSigningKey,
  formatAmzDate,
  signatureHex,
  stringToSign,
  uriEncode,
} from './s3/auth/canonical.js';

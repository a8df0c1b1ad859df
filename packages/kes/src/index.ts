// The public surface of @kesgate/kes, for the `kes` CLI, the dev-start script and tests.
export { startServer, type RunningServer, type StartOptions } from './server.js';
export { initStore, backupStore, type InitResult } from './init.js';
export {
  loadConfig,
  parseConfig,
  ConfigError,
  schema as kesConfigSchema,
  type KesConfig,
  type PolicyConfig,
  type ParseOptions,
} from './config/config.js';
export { createCA, issueServerCert, issueClientCert, selfSignedClientCert, identityOf, type CertKeyPair } from './pki/pki.js';
export { cachedInTempDir } from './pki/temp-cache.js';
export { KesError } from './errors.js';
export type { SealStatus } from './barrier/barrier.js';
export { encryptKes, decryptKes, type Cipher } from './crypto/ciphertext.js';
export { VERSION } from './version.js';
export { writeDevCerts, type DevCerts, type DevCertFiles } from './pki/dev-certs.js';

// The S3 protocol layer: what handlers import.
export * from './errors.js';
export * from './xml.js';
export * from './names.js';
export * from './addressing.js';
export * from './checksums.js';
export { Crc32c, Crc64Nvme, crc32c, crc64nvme } from './crc.js';
export * from './auth/canonical.js';
export * from './auth/sigv4.js';
export * from './auth/chunked.js';
export * from './body.js';
export { authOf, errorHandler, headerSectionLimit, requestIds, sigv4Auth, type ErrorLogger, type Sigv4AuthOptions } from './middleware.js';

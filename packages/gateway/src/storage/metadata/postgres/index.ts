// The PostgreSQL metadata store: several gateways share one database.
export { openPostgresMetadataStore, PostgresMetadataStore } from './postgres-metadata-store.js';
export { PostgresDatabase, type PostgresMetadataOptions } from './database.js';
export { SCHEMA_VERSION as POSTGRES_SCHEMA_VERSION } from './schema.js';

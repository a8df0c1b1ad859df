// The shared layout for tests of several gateways: one throwaway PostgreSQL cluster (metadata, rotation
// jobs, leases) and one moto_server upstream (blobs). `backend()` gives a fresh database and bucket as a
// gateway config's `backend` section; every gateway started with the same section shares them.
// Under scripts/run-tests.js both are the run's (scripts/lib/test-services.ts); run alone, the file's own.
import { sharedMotoEndpoint, sharedPostgres } from '../../../../scripts/lib/test-services.js';
import { postgresSkipReason, startPostgres, type PostgresCluster } from './postgres.js';
import { connectMoto, motoMissing, startMoto, type Upstream } from './upstreams.js';

/** For `describe(name, { skip: sharedBackendSkipReason() })`: why PostgreSQL or moto cannot run here, else false. */
export function sharedBackendSkipReason(): string | false {
  return postgresSkipReason() || (motoMissing() ?? false);
}

/** A gateway config's backend section for the shared layout. */
export interface SharedBackendSection {
  metadata: { postgres: { url: string } };
  blobs: { s3: { endpoint: string; bucket: string; region: string; accessKey: string; secretKey: string; pathStyle: boolean } };
}

export interface SharedBackend {
  postgres: PostgresCluster;
  upstream: Upstream;
  /** A fresh database and upstream bucket, as a gateway config's backend section, and the database URL. */
  backend(): Promise<{ backend: SharedBackendSection; url: string; bucket: string }>;
  close(): Promise<void>;
}

let databases = 0;

export interface SharedBackendOptions {
  /** The file stops and starts PostgreSQL: it gets a cluster of its own, never the run's. */
  ownPostgres?: boolean;
}

export async function startSharedBackend(options: SharedBackendOptions = {}): Promise<SharedBackend> {
  const postgres = (!options.ownPostgres && sharedPostgres()) || (await startPostgres());
  let upstream: Upstream;
  try {
    const motoEndpoint = sharedMotoEndpoint();
    upstream = motoEndpoint ? connectMoto(motoEndpoint) : await startMoto();
  } catch (err) {
    await postgres.close();
    throw err;
  }
  return {
    postgres,
    upstream,
    async backend() {
      const url = await postgres.createDatabase(`shared_${process.pid}_${++databases}`);
      const bucket = await upstream.newBucket();
      const backend: SharedBackendSection = {
        metadata: { postgres: { url } },
        blobs: {
          s3: {
            endpoint: upstream.endpoint,
            bucket,
            region: upstream.region,
            accessKey: upstream.accessKey,
            secretKey: upstream.secretKey,
            pathStyle: true,
          },
        },
      };
      return { backend, url, bucket };
    },
    async close() {
      await upstream.close();
      await postgres.close();
    },
  };
}

// The shared engines of the cluster layout for one test file: one throwaway PostgreSQL cluster and one
// moto_server, started on first use and stopped when the file's tests are done. Each suite takes a fresh
// database and a fresh upstream bucket of them, so suites never see each other's state.
import { after } from 'node:test';
import type { BackendConfig } from '../../src/config/backend.js';
import type { PostgresCluster } from './postgres.js';
import { sharedBackendSkipReason, startSharedBackend, type SharedBackendOptions } from './shared-backend.js';
import type { Upstream } from './upstreams.js';

export interface ClusterServices {
  postgres: PostgresCluster;
  moto: Upstream;
}

/** Why the cluster layout cannot run here (PostgreSQL or moto_server missing), or false. */
export function clusterSkipReason(): string | false {
  return sharedBackendSkipReason();
}

let services: Promise<ClusterServices> | undefined;
let ownPostgres = false;

/**
 * The file's PostgreSQL and moto, started on the first call (under scripts/run-tests.js, the run's). A file that
 * stops PostgreSQL asks for `{ ownPostgres: true }` on its first call.
 */
export function clusterServices(options: SharedBackendOptions = {}): Promise<ClusterServices> {
  if (options.ownPostgres && services && !ownPostgres) {
    throw new Error('clusterServices({ ownPostgres: true }) must be the first call of the file: its PostgreSQL is already chosen');
  }
  ownPostgres ||= Boolean(options.ownPostgres) && !services;
  services ??= startSharedBackend(options).then(({ postgres, upstream }) => ({ postgres, moto: upstream }));
  return services;
}

// At the top level of the module, so it is a hook of the file's root test: it runs once every suite is done.
after(async () => {
  const running = await services?.catch(() => undefined);
  services = undefined;
  await running?.moto.close();
  await running?.postgres.close();
});

let backends = 0;

/** A backend config on a fresh database and a fresh upstream bucket of the file's services. */
export async function freshClusterBackend(
  name = 'cluster',
): Promise<{ backend: BackendConfig; database: string; bucket: string; url: string }> {
  const { postgres, moto } = await clusterServices();
  const database = `${name.replace(/[^a-z0-9_]/g, '_')}_${++backends}`;
  const url = await postgres.createDatabase(database);
  const bucket = await moto.newBucket();
  const backend: BackendConfig = {
    metadata: { postgres: { url } },
    blobs: {
      s3: {
        endpoint: moto.endpoint,
        bucket,
        region: moto.region,
        accessKey: moto.accessKey,
        secretKey: moto.secretKey,
        prefix: '',
        pathStyle: true,
      },
    },
  };
  // The run's shared cluster names it after this process too: the URL says what it is.
  return { backend, database: decodeURIComponent(new URL(url).pathname.slice(1)), bucket, url };
}

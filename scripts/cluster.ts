// `npm run cluster`: the scale-out layout on one machine, for trying it and as the README's recipe.
//   PostgreSQL  a throwaway cluster (initdb into a temp dir): the gateways' shared metadata
//   moto_server an upstream S3 bucket for the encrypted blobs, standing in for MinIO, Ceph RGW or AWS S3
//   kes nodes   two (or as many as KES_CLUSTER_ADDRESSES lists) on one PostgreSQL keystore in that database,
//               initialised afresh each run (a 1-of-1 share in $KESGATE_HOME/cluster/kes-unseal.key that each
//               node unseals itself with at start: development only), with the certificates of the
//               development state under $KESGATE_HOME (./.kesgate)
//   gateways    two (or as many as KESGATE_CLUSTER_ADDRESSES lists) on that database and that bucket, each
//               listing every kes node
// Ctrl-C stops everything; if one process dies, the others are stopped and the reason shown. The database
// and the bucket are removed when it stops (moto keeps its buckets in memory only).
// `npm run cluster -- --check` starts everything, writes through one gateway and reads through the other
// (a PUT, and a multipart upload begun on one and completed on the other), prints OK and stops.
// Env: KESGATE_HOME, KES_CLUSTER_ADDRESSES (KES_ADDRESS or 127.0.0.1:7373, then 127.0.0.1:7374),
//      KESGATE_CLUSTER_ADDRESSES (127.0.0.1:9001,127.0.0.1:9002), KESGATE_CLUSTER_TLS_ADDRESSES (127.0.0.1:9444,127.0.0.1:9445).
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { get as httpsGet } from 'node:https';
import { relative } from 'node:path';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { currentBundles, currentScripts, GATEWAY_ENV } from './build.js';
import { checkCluster } from './lib/cluster-check.js';
import { initStore, loadConfig as loadKesConfig } from '@kesgate/kes';
import { gatewayConfig, gatewayHealthy, kesConfig, localUrl, prepareDevState } from './lib/dev-state.js';
import { motoMissing, startMotoServer } from './lib/moto.js';
import { postgresMissing, startPostgres } from './lib/postgres.js';
import { Supervisor } from './lib/supervisor.js';

// The SDK's notice that its 2027 releases will need Node 22 says nothing about this cluster: keep it out of the output.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
const check = process.argv.includes('--check');
const list = (name: string, dflt: string): string[] =>
  (process.env[name] || dflt)
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
const addresses = list('KESGATE_CLUSTER_ADDRESSES', '127.0.0.1:9001,127.0.0.1:9002');
const tlsAddresses = list('KESGATE_CLUSTER_TLS_ADDRESSES', '127.0.0.1:9444,127.0.0.1:9445');
const names = addresses.map((_, i) => `gateway-${i + 1}`);
const kesAddresses = list('KES_CLUSTER_ADDRESSES', `${process.env.KES_ADDRESS || '127.0.0.1:7373'},127.0.0.1:7374`);
const kesNames = kesAddresses.map((_, i) => `kes-${i + 1}`);
const processes = new Supervisor(['postgres', 'moto', ...kesNames, ...names]);

/** True once the kes node at `endpoint` is ready (unsealed, keystore answering): GET /v1/ready needs no client certificate. */
function kesReady(endpoint: string, ca: Buffer): Promise<boolean> {
  return new Promise((res) => {
    httpsGet(`${endpoint}/v1/ready`, { ca, servername: 'localhost' }, (r) => {
      r.resume();
      res(r.statusCode === 200);
    }).on('error', () => res(false));
  });
}

/** The upstream bucket and how the gateways reach it; moto checks no signatures, so any keys do. */
const UPSTREAM = { bucket: 'kesgate-data', region: 'us-east-1', accessKey: 'moto-access', secretKey: 'moto-secret' };

async function main(): Promise<void> {
  if (addresses.length !== tlsAddresses.length) {
    throw new Error(
      `KESGATE_CLUSTER_ADDRESSES lists ${addresses.length} gateways but KESGATE_CLUSTER_TLS_ADDRESSES ${tlsAddresses.length}: give one HTTPS address per gateway`,
    );
  }
  const missing = postgresMissing() ?? motoMissing();
  if (missing) throw new Error(`${missing}; npm run cluster needs PostgreSQL and moto_server on this machine`);

  const state = await prepareDevState();
  const { home, at, creds } = state;
  // This script's own bundle too (scripts/run-script.js runs it while current).
  const [bundles] = await Promise.all([currentBundles(), currentScripts()]);

  const pg = await startPostgres();
  processes.adopt('postgres', pg.process!, () => pg.close());
  const pgUser = { user: 'kesgate', password: randomBytes(12).toString('hex') };
  const databaseUrl = await pg.createDatabase('kesgate', pgUser);

  const moto = await startMotoServer();
  processes.adopt('moto', moto.process, () => moto.close());
  const upstream = new S3Client({
    endpoint: moto.endpoint,
    region: UPSTREAM.region,
    forcePathStyle: true,
    credentials: { accessKeyId: UPSTREAM.accessKey, secretAccessKey: UPSTREAM.secretKey },
  });
  await upstream.send(new CreateBucketCommand({ Bucket: UPSTREAM.bucket }));

  const env = { ...process.env, KESGATE_ROOT_USER: creds.user, KESGATE_ROOT_PASSWORD: creds.password, KESGATE_HOME: home };
  // The kes nodes: one keystore in the gateways' database (kes's tables are kes_*), initialised once, here.
  mkdirSync(at('cluster'), { recursive: true, mode: 0o700 });
  const kesConfigs = kesAddresses.map((address, i) => {
    const file = at('cluster', `${kesNames[i]}.yaml`);
    const header = `Generated by npm run cluster (development): ${kesNames[i]} of ${kesAddresses.length}, all on one PostgreSQL keystore.`;
    const keystore = `  postgres:\n    url: ${databaseUrl}`;
    writeFileSync(
      file,
      kesConfig(state.ids, {
        header,
        address,
        node: kesNames[i],
        keystore,
        unsealFile: 'kes-unseal.key',
        audit: `${kesNames[i]}-audit.log`,
        certs: '../certs',
      }),
      { mode: 0o600 },
    );
    return file;
  });
  const { shares } = await initStore(loadKesConfig(kesConfigs[0]!), { shares: 1, threshold: 1 });
  writeFileSync(at('cluster', 'kes-unseal.key'), `${shares.join('\n')}\n`, { mode: 0o600 });
  const kesEndpoints = kesAddresses.map((a) => localUrl(a, 'https'));
  const ca = readFileSync(at('certs', 'ca.crt'));
  // Started together on purpose: each joins the keystore and unseals itself with the same share.
  const kesNodes = kesConfigs.map((file, i) =>
    processes.runNode(kesNames[i]!, bundles.kes, ['server', '--config', file], { cwd: at('cluster'), env }),
  );
  await Promise.all(kesNodes.map((node, i) => processes.waitFor(kesNames[i]!, () => kesReady(kesEndpoints[i]!, ca), node, 90_000)));

  // Every gateway gets the same backend: one database, one bucket, and every kes node. Rewritten on every start (new ports).
  const backend = `  metadata:
    postgres:
      url: ${databaseUrl}
  blobs:
    s3:
      endpoint: ${moto.endpoint}
      bucket: ${UPSTREAM.bucket}
      region: ${UPSTREAM.region}
      accessKey: ${UPSTREAM.accessKey}
      secretKey: ${UPSTREAM.secretKey}
      prefix: ""
      pathStyle: true`;
  const configs = addresses.map((address, i) => {
    const file = at('cluster', `${names[i]}.yaml`);
    const header = `Generated by npm run cluster (development): ${names[i]} of ${addresses.length}, all on the same database and bucket.`;
    writeFileSync(
      file,
      gatewayConfig({ header, address, tlsAddress: tlsAddresses[i]!, kesEndpoint: kesEndpoints.join(', '), backend, certs: '../certs' }),
      { mode: 0o600 },
    );
    return file;
  });
  // Started together on purpose: the schema migration must be safe when gateways start at the same moment.
  const gateways = configs.map((file, i) =>
    processes.runNode(names[i]!, bundles.kesgate, ['server', '--config', file], { cwd: at('cluster'), env: { ...env, ...GATEWAY_ENV } }),
  );
  await Promise.all(gateways.map((gw, i) => processes.waitFor(names[i]!, () => gatewayHealthy(addresses[i]!), gw, 90_000)));

  const shown = (p: string): string => (relative(process.cwd(), p).startsWith('..') ? p : relative(process.cwd(), p) || '.');
  const endpoints = addresses.map((a) => localUrl(a));
  const aws = '/usr/bin/aws';
  console.log(`
the kesgate cluster is running (development state in ${shown(home)}; the database and the bucket are removed when it stops)
${addresses.map((a, i) => `  ${names[i]!.padEnd(12)}  ${endpoints[i]}   ${localUrl(tlsAddresses[i]!, 'https')} (CA: ${shown(at('certs', 'ca.crt'))})   config ${shown(configs[i]!)}`).join('\n')}
  PostgreSQL    ${databaseUrl}   (the shared metadata; data dir ${pg.dir})
  upstream S3   ${moto.endpoint}  bucket ${UPSTREAM.bucket}   (moto_server: a stand-in for MinIO, Ceph RGW or AWS S3)
${kesEndpoints.map((e, i) => `  ${kesNames[i]!.padEnd(12)}  ${e}   (unsealed; the PostgreSQL keystore, config ${shown(kesConfigs[i]!)})`).join('\n')}
  credentials   ${shown(at('credentials'))}   (KESGATE_ROOT_USER=${creds.user})
`);
  if (check) {
    const report = await checkCluster({ gateways: endpoints, creds, upstream: { client: upstream, bucket: UPSTREAM.bucket } });
    for (const line of report) console.log(`  ${line}`);
    console.log('cluster check: OK');
    upstream.destroy();
    return processes.stopAll('', 0);
  }
  upstream.destroy();
  console.log(`Try it: write through one gateway, read through the other.
  . <(sed 's/^/export /' ${shown(at('credentials'))})
  export AWS_ACCESS_KEY_ID=$KESGATE_ROOT_USER AWS_SECRET_ACCESS_KEY=$KESGATE_ROOT_PASSWORD AWS_DEFAULT_REGION=us-east-1
  ${aws} --endpoint-url ${endpoints[0]} s3 mb s3://demo
${endpoints.map((e, i) => `  ${aws} --endpoint-url ${e} s3 cp README.md s3://demo/from-${names[i]}.md`).join('\n')}
${endpoints.map((e, i) => `  ${aws} --endpoint-url ${e} s3 cp s3://demo/from-${names[(i + 1) % names.length]}.md - | head -3`).join('\n')}
  # The upstream bucket holds ciphertext under random ids, nothing else:
  AWS_ACCESS_KEY_ID=${UPSTREAM.accessKey} AWS_SECRET_ACCESS_KEY=${UPSTREAM.secretKey} ${aws} --endpoint-url ${moto.endpoint} s3 ls --recursive s3://${UPSTREAM.bucket}

Ctrl-C stops everything.`);
}

main().catch((err: Error) => void processes.stopAll(`npm run cluster failed: ${err.message}`, 1));

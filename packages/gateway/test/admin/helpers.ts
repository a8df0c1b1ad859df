// Real parts for the admin, rotation and CLI suites: a kes server over mTLS with its SQLite store in a
// temp dir (1-of-1 unseal share), a gateway with the admin API on 127.0.0.1:0, an S3 client and an
// admin client, and helpers to read what the fs backend holds on disk.
import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { join } from 'node:path';
import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { pino } from 'pino';
import { KesClient } from '@kesgate/kes-client';
import { identityOf, initStore, parseConfig as parseKesConfig, startServer, type RunningServer } from '@kesgate/kes';
import { AdminClient } from '../../src/admin/client.js';
import { startGatewayWithAdmin, type AdminGateway, type AdminStartOptions } from '../../src/admin/admin.js';
import { parseConfig, type GatewayConfig, type GatewayConfigInput } from '../../src/config/load.js';
import type { RotationOptions } from '../../src/rotation/index.js';
import type { ObjectStore } from '../../src/storage/index.js';
import { pki } from '../helpers/pki.js';
import { freePort } from '../../../../scripts/lib/free-port.js';

export const ACCESS_KEY = 'kesgate-test-root';
export const SECRET_KEY = 'kesgate-test-root-secret-0123456789';
export const REGION = 'us-east-1';

const dirs: string[] = [];
process.on('exit', () => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

export function tempDir(prefix = 'kesgate-admin-test-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  dirs.push(dir);
  return dir;
}

export interface TestKes {
  srv: RunningServer;
  url: string;
  dir: string;
  shares: string[];
  /** A client with the admin identity: create, rotate, delete, seal, unseal. */
  admin: KesClient;
  /** Stops kes and starts it again on the same port and store, after `downMs` without it (default 0). */
  restart(downMs?: number): Promise<void>;
  close(): Promise<void>;
}

/** A kes server with `keys` created at start and a policy giving the gateway identity what the gateway uses. */
export async function startKes(keys: string[] = ['kesgate-default']): Promise<TestKes> {
  const p = pki();
  const dir = tempDir('kesgate-admin-kes-');
  writeFileSync(join(dir, 'server.key'), p.server.key);
  writeFileSync(join(dir, 'server.crt'), p.server.cert);
  writeFileSync(join(dir, 'ca.crt'), p.ca.cert);
  const config = parseKesConfig(
    {
      // A port below the ephemeral range: restart() binds it again, and in between no connection may take it.
      address: `127.0.0.1:${await freePort()}`,
      admin: { identity: identityOf(p.admin.cert) },
      tls: { key: 'server.key', cert: 'server.crt', ca: 'ca.crt' },
      policy: {
        gateway: {
          allow: ['/v1/key/generate/*', '/v1/key/decrypt/*', '/v1/key/describe/*', '/v1/status', '/v1/sys/seal-status'],
          identities: [identityOf(p.gateway.cert)],
        },
      },
      keystore: { sqlite: { path: 'kes.db' } },
      unseal: { file: 'unseal.key' },
      log: { error: 'off', audit: 'off' },
      keys: keys.map((name) => ({ name })),
    },
    { baseDir: dir },
  );
  const { shares } = await initStore(config, { shares: 1, threshold: 1 });
  writeFileSync(join(dir, 'unseal.key'), `${shares.join('\n')}\n`);
  let srv = await startServer(config);
  const admin = new KesClient({ endpoints: [srv.url], cert: p.admin.cert, key: p.admin.key, ca: p.ca.cert, retries: 0 });
  const kes: TestKes = {
    srv,
    url: srv.url,
    dir,
    shares,
    admin,
    async restart(downMs = 0) {
      await srv.close();
      if (downMs > 0) await sleep(downMs);
      // Same port, so the gateway's configured endpoint stays right.
      srv = await startServer({ ...config, address: `127.0.0.1:${kes.srv.port}`, port: kes.srv.port });
      kes.srv = srv;
    },
    async close() {
      admin.close();
      await srv.close();
    },
  };
  return kes;
}

export interface GatewayFiles {
  dir: string;
  dataDir: string;
  certFile: string;
  keyFile: string;
  caFile: string;
}

/** The gateway's client certificate for kes, and a data directory, in a fresh temp dir. */
export function gatewayFiles(): GatewayFiles {
  const p = pki();
  const dir = tempDir('kesgate-admin-gw-');
  const files = {
    dir,
    dataDir: join(dir, 'gateway'),
    certFile: join(dir, 'gateway.crt'),
    keyFile: join(dir, 'gateway.key'),
    caFile: join(dir, 'ca.crt'),
  };
  writeFileSync(files.certFile, p.gateway.cert);
  writeFileSync(files.keyFile, p.gateway.key, { mode: 0o600 });
  writeFileSync(files.caFile, p.ca.cert);
  return files;
}

export function gatewayConfig(
  kes: TestKes,
  files: GatewayFiles,
  extra: { concurrency?: number; address?: string; backend?: GatewayConfigInput['backend'] } = {},
): GatewayConfig {
  return parseConfig({
    address: extra.address ?? '127.0.0.1:0',
    region: REGION,
    credentials: { accessKey: ACCESS_KEY, secretKey: SECRET_KEY },
    users: [{ accessKey: 'kesgate-test-user', secretKey: 'kesgate-test-user-secret' }],
    backend: extra.backend ?? { fs: { path: files.dataDir } },
    // No key cache (as in helpers/stack.ts): these suites expect a seal or delete at kes to refuse the next request.
    kms: {
      endpoints: [kes.url],
      cert: files.certFile,
      key: files.keyFile,
      ca: files.caFile,
      defaultKey: 'kesgate-default',
      cache: { ttlSeconds: 0 },
    },
    sse: { allowInsecureSSEC: true },
    log: { level: 'silent' },
    rotation: { concurrency: extra.concurrency ?? 4 },
  });
}

export interface TestGateway {
  gw: AdminGateway;
  files: GatewayFiles;
  config: GatewayConfig;
  s3: S3Client;
  admin: AdminClient;
  close(): Promise<void>;
}

/** Fast retries by default, so suites with a sealed kes stay short. */
export const FAST_RETRY = { attempts: 3, baseDelayMs: 5, maxDelayMs: 20 };

export async function startTestGateway(
  kes: TestKes,
  options: {
    files?: GatewayFiles;
    concurrency?: number;
    rotation?: RotationOptions;
    backend?: GatewayConfigInput['backend'];
    /** Other start options: the store's tuning, how often to beat and sweep. */
    start?: Omit<AdminStartOptions, 'rotation' | 'logger'>;
  } = {},
): Promise<TestGateway> {
  const files = options.files ?? gatewayFiles();
  const config = gatewayConfig(kes, files, {
    ...(options.concurrency !== undefined && { concurrency: options.concurrency }),
    ...(options.backend !== undefined && { backend: options.backend }),
  });
  const gw = await startGatewayWithAdmin(config, {
    logger: pino({ level: 'silent' }),
    ...options.start,
    rotation: { retry: FAST_RETRY, ...options.rotation },
  });
  const s3 = new S3Client({
    endpoint: gw.url,
    region: REGION,
    forcePathStyle: true,
    credentials: { accessKeyId: ACCESS_KEY, secretAccessKey: SECRET_KEY },
    maxAttempts: 1,
  });
  const admin = new AdminClient({ endpoint: gw.url, accessKey: ACCESS_KEY, secretKey: SECRET_KEY, region: REGION });
  return {
    gw,
    files,
    config,
    s3,
    admin,
    async close() {
      s3.destroy();
      await gw.close();
    },
  };
}

/** sha256 of every data file under the fs backend's data/ directory, by relative path. */
export function dataFileHashes(dataDir: string): Map<string, string> {
  const out = new Map<string, string>();
  const root = join(dataDir, 'data');
  for (const shard of readdirSync(root)) {
    for (const name of readdirSync(join(root, shard))) {
      out.set(
        `${shard}/${name}`,
        createHash('sha256')
          .update(readFileSync(join(root, shard, name)))
          .digest('hex'),
      );
    }
  }
  return out;
}

/**
 * sha256 of the stored bytes of every small object kept inline in its metadata row (the latest version of each
 * key of `bucket`), by `bucket/key#part`: what dataFileHashes cannot see, since such an object has no data file.
 */
export async function inlineDataHashes(store: ObjectStore, bucket: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  const page = await store.listObjects({ bucket, maxKeys: 1000 });
  if (page.isTruncated) throw new Error(`inlineDataHashes reads one page: ${bucket} holds more than 1,000 objects`);
  for (const { key } of page.contents) {
    for (const part of (await store.getObject(bucket, key))!.parts) {
      if (part.inline) out.set(`${bucket}/${key}#${part.number}`, createHash('sha256').update(part.inline).digest('hex'));
    }
  }
  return out;
}

export function dataFile(dataDir: string, dataId: string): Buffer {
  return readFileSync(join(dataDir, 'data', dataId.slice(0, 2), dataId));
}

export interface CustomerKey {
  key: Buffer;
  md5: string;
}

export function customerKey(seed: string): CustomerKey {
  const key = createHash('sha256').update(seed).digest();
  return { key, md5: createHash('md5').update(key).digest('base64') };
}

export async function getBytes(s3: S3Client, bucket: string, key: string, ssec?: CustomerKey): Promise<Buffer> {
  const r = await s3.send(
    new GetObjectCommand({
      Bucket: bucket,
      Key: key,
      ...(ssec ? { SSECustomerAlgorithm: 'AES256', SSECustomerKey: ssec.key.toString('base64'), SSECustomerKeyMD5: ssec.md5 } : {}),
    }),
  );
  return Buffer.from(await r.Body!.transformToByteArray());
}

/** Deterministic test content of `size` bytes. */
export function content(seed: string, size: number): Buffer {
  const out = Buffer.alloc(size);
  let block = createHash('sha256').update(seed).digest();
  for (let off = 0; off < size; off += block.length) {
    block.copy(out, off);
    block = createHash('sha256').update(block).digest();
  }
  return out;
}

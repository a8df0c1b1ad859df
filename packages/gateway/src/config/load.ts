import { readFileSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { parse as parseYAML } from 'yaml';
import { z } from 'zod';
import { backendSchema, resolveBackendPaths } from './backend.js';
import { CONSOLE_DEFAULTS, consoleConfigSchema, resolveConsolePaths } from '../console/config.js';
import { LOG_FORMATS } from '@kesgate/log';

/** `${NAME}` is replaced by the environment variable NAME; a missing variable is an error, not an empty string. */
function substituteEnv(text: string, env: NodeJS.ProcessEnv = process.env): string {
  return text.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g, (_, name: string) => {
    const v = env[name];
    if (v === undefined) throw new ConfigError(`environment variable ${name} is referenced in the config but not set`);
    return v;
  });
}

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

const address = z.string().regex(/^(\[[0-9a-fA-F:]+\]|[^:\s]*):\d{1,5}$/, 'expected HOST:PORT, e.g. 127.0.0.1:9000');

export const schema = z
  .object({
    address: address.default('127.0.0.1:9000'),
    tls: z
      .object({ address, cert: z.string().min(1), key: z.string().min(1) })
      .strict()
      .optional(),
    region: z.string().min(1).default('us-east-1'),
    /** Host names for virtual-host-style requests: `bucket.<domain>`. */
    domains: z.array(z.string().min(1)).default([]),
    credentials: z
      .object({
        accessKey: z.string().min(3, 'expected at least 3 characters'),
        secretKey: z.string().min(8, 'expected at least 8 characters'),
      })
      .strict(),
    users: z.array(z.object({ accessKey: z.string().min(3), secretKey: z.string().min(8) }).strict()).default([]),
    backend: backendSchema.prefault({ fs: { path: 'data/gateway' } }),
    kms: z
      .object({
        endpoints: z.array(z.string().url('expected an https:// URL')).min(1, 'expected at least one kes endpoint'),
        cert: z.string().min(1),
        key: z.string().min(1),
        ca: z.string().min(1).optional(),
        defaultKey: z.string().min(1).default('kesgate-default'),
        timeoutMs: z.number().int().positive().default(10_000),
        /**
         * Unwrapped data keys (bucket keys, keys of objects read) kept in memory: at most maxEntries, each for
         * ttlSeconds after kes gave it out. ttlSeconds bounds how long a seal or delete at kes takes to stop
         * reads and writes of the objects under it; 0 asks kes every time.
         */
        cache: z
          .object({ maxEntries: z.number().int().min(0).default(10_000), ttlSeconds: z.number().min(0).max(3600).default(1) })
          .strict()
          .prefault({}),
      })
      .strict(),
    sse: z
      .object({
        allowInsecureSSEC: z.boolean().default(false),
        /** New SSE-S3 objects use S3 Bucket Keys unless a request or the bucket's encryption says otherwise. */
        bucketKeys: z.boolean().default(false),
        /** A bucket key seals new objects for at most this long after kes made it… */
        bucketKeyLifetimeSeconds: z.number().int().min(1).default(300),
        /** …and for at most this many objects. */
        bucketKeyMaxObjects: z.number().int().min(1).default(100_000),
      })
      .strict()
      .prefault({}),
    log: z
      .object({
        level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
        // json: one object per line; pretty: for a terminal (KESGATE_LOG_FORMAT overrides it).
        format: z.enum(LOG_FORMATS).default('json'),
      })
      .strict()
      .default({ level: 'info', format: 'json' }),
    rotation: z
      .object({
        concurrency: z.number().int().min(1).max(256).default(8),
        // How long a job waits for kes through one outage (sealed, unreachable) before leaving objects behind.
        waitForKesSeconds: z.number().int().min(0).default(600),
      })
      .strict()
      .default({ concurrency: 8, waitForKesSeconds: 600 }),
    /**
     * At SIGTERM, requests in flight may finish for drainSeconds; connections still open then are cut. The
     * default leaves a 30 s container grace period 10 s for the rest of the shutdown.
     */
    shutdown: z
      .object({ drainSeconds: z.number().min(0).max(3600).default(20) })
      .strict()
      .default({ drainSeconds: 20 }),
    /** Open connections one client address may hold (0: no limit; behind a proxy, raise it or set 0). */
    limits: z
      .object({ connectionsPerClient: z.number().int().min(0).default(512) })
      .strict()
      .default({ connectionsPerClient: 512 }),
    console: consoleConfigSchema.default(CONSOLE_DEFAULTS),
    /** With a bearer token, /metrics answers only requests that send it (as MinIO's Prometheus token). */
    metrics: z
      .object({ bearerToken: z.string().min(16, 'expected at least 16 characters (e.g. `openssl rand -hex 32`)').optional() })
      .strict()
      .default({}),
  })
  .strict();

export type GatewayConfig = z.infer<typeof schema>;
export type GatewayConfigInput = z.input<typeof schema>;

/** Validate a config object; relative file paths resolve against `baseDir`. */
export function parseConfig(raw: unknown, baseDir = process.cwd()): GatewayConfig {
  const r = schema.safeParse(raw ?? {});
  if (!r.success) {
    // "backend.blobs.s3.bucket is required (…)" reads as a sentence; other messages follow a colon.
    const lines = r.error.issues.map(
      (i) => `  ${i.path.join('.') || '(top level)'}${i.message.startsWith('is ') ? ' ' : ': '}${i.message}`,
    );
    throw new ConfigError(`invalid gateway config:\n${lines.join('\n')}`);
  }
  const c = r.data;
  const abs = (p: string): string => (isAbsolute(p) ? p : resolve(baseDir, p));
  if (c.tls) c.tls = { ...c.tls, cert: abs(c.tls.cert), key: abs(c.tls.key) };
  c.backend = resolveBackendPaths(c.backend, abs);
  c.console = resolveConsolePaths(c.console, abs);
  c.kms = { ...c.kms, cert: abs(c.kms.cert), key: abs(c.kms.key), ...(c.kms.ca ? { ca: abs(c.kms.ca) } : {}) };
  for (const e of c.kms.endpoints) {
    if (!e.startsWith('https://')) throw new ConfigError(`invalid gateway config:\n  kms.endpoints: ${e} must use https://`);
  }
  return c;
}

/** Read, substitute `${ENV}`, parse YAML and validate a config file. */
export function loadConfig(file: string, env: NodeJS.ProcessEnv = process.env): GatewayConfig {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError(`cannot read config file ${file}: ${(err as Error).message}`);
  }
  let raw: unknown;
  try {
    raw = parseYAML(substituteEnv(text, env));
  } catch (err) {
    if (err instanceof ConfigError) throw err;
    throw new ConfigError(`config file ${file} is not valid YAML: ${(err as Error).message}`);
  }
  return parseConfig(raw, dirname(resolve(file)));
}

export function splitAddress(addr: string): { host: string; port: number } {
  const i = addr.lastIndexOf(':');
  const host = addr.slice(0, i).replace(/^\[|\]$/g, '') || '0.0.0.0';
  return { host, port: Number(addr.slice(i + 1)) };
}

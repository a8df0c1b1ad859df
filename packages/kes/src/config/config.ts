// The kes server configuration: KES-shaped YAML (docs/configuration.md), `${ENV}` substitution
// in every string value, validation with zod (errors name the field and what was expected),
// and relative paths resolved against the directory of the config file.
import { readFileSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import type { AuditRotation } from '../log/audit.js';
import { LOG_FORMATS, type LogFormat } from '@kesgate/log';
import { isValidName } from '../service/names.js';
import { parseDuration } from './duration.js';

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace'] as const;
type LogLevel = (typeof LOG_LEVELS)[number];
/** Audit files rotate at 100 MiB, five rotated files kept, unless the config says otherwise. */
export const AUDIT_ROTATE_DEFAULT: AuditRotation = { maxBytes: 100 * 1024 * 1024, keep: 5 };

export interface PolicyConfig {
  allow: string[];
  deny: string[];
  identities: string[];
}

export interface KesConfig {
  /** "host:port" as written (default 0.0.0.0:7373). */
  address: string;
  host: string;
  port: number;
  /** Lower-case hex identity of the admin, or undefined when disabled. */
  admin: { identity: string | undefined };
  tls: {
    /** Absolute paths of PEM files. */
    key: string;
    cert: string;
    ca: string | undefined;
    /** `auth: on` — client certificate chains must verify against `ca`. */
    auth: boolean;
  };
  policy: Record<string, PolicyConfig>;
  /** Exactly one of the two. */
  keystore: KeystoreConfig;
  /** This node's name in its audit log (config `node`; default hostname:port). */
  node: string | undefined;
  /** Development only: a file of unseal shares, one per line. */
  unseal: { file: string } | undefined;
  log: {
    /** The server's log (errors, state changes, requests) on stdout. */
    error: boolean;
    /** Lines below this level are not written (debug shows health probes and metric scrapes). */
    level: LogLevel;
    /** json, or pretty for a terminal (KESGATE_LOG_FORMAT overrides it). */
    format: LogFormat;
    /** 'off', 'stdout', or an absolute file path. */
    audit: 'off' | 'stdout' | string;
    /** How the audit file rotates by size (max_bytes 0: never). */
    auditRotate: AuditRotation;
  };
  /** `metrics.bearer_token`: /v1/metrics also answers requests that send it, and only them without a certificate. */
  metrics: { bearerToken: string | undefined };
  /** Keys created at start when missing. */
  keys: Array<{ name: string }>;
  /**
   * Per-route settings; `skip_auth` serves the route without a client certificate, `timeout` (seconds, 0 for
   * none) replaces the route's own limit on how long a request may take.
   */
  api: Record<string, { skip_auth: boolean; timeout?: number }>;
  /** The file this config was read from, if any. */
  source: string | undefined;
}

export type KeystoreConfig =
  | { sqlite: { path: string }; postgres?: undefined }
  | {
      sqlite?: undefined;
      postgres: {
        /** postgres://user:password@host:5432/database */
        url: string;
        /** Pooled connections at most (default 10). */
        poolSize: number;
        /** Connect and statement timeout, ms (default 5000). */
        timeoutMs: number;
        /** How often a node reads the cluster's seal epoch besides LISTEN/NOTIFY, ms (default 500). */
        sealPollMs: number;
        /** How long a node waits before re-opening a broken LISTEN connection, ms (default 2000). */
        listenRetryMs: number;
      };
    };

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

const IDENTITY = /^[0-9a-f]{64}$/;

const onOff = z
  .union([z.boolean(), z.enum(['on', 'off', 'true', 'false'])], { error: 'expected on or off' })
  .transform((v) => v === true || v === 'on' || v === 'true');

const identity = z
  .string({ error: 'expected an identity: 64 hexadecimal characters (see `kes identity of <cert>`)' })
  .transform((s) => s.trim().toLowerCase())
  .refine((s) => IDENTITY.test(s), { message: 'expected an identity: 64 hexadecimal characters (see `kes identity of <cert>`)' });

const pattern = z
  .string({ error: 'expected an API path pattern such as /v1/key/generate/*' })
  .refine((s) => s.startsWith('/'), { message: "expected an API path pattern starting with '/', such as /v1/key/generate/*" });

const path = z.string({ error: 'expected a file path' }).min(1, { message: 'expected a file path' });

/** A duration (15s, 500ms) as milliseconds, more than 0. */
const duration = z.unknown().transform((v, ctx) => {
  const seconds = parseDuration(v);
  if (seconds === undefined || seconds <= 0) {
    ctx.addIssue({ code: 'custom', message: `expected a duration such as 5s or 500ms; got ${JSON.stringify(v)}` });
    return z.NEVER;
  }
  return Math.round(seconds * 1000);
});

/** A mapping's error for a value that is not one; other problems (an unknown key) keep zod's own message. */
function mapping(message: string): { error: (issue: { code?: string }) => string | undefined } {
  return { error: (issue) => (issue.code === 'invalid_type' ? message : undefined) };
}

export const schema = z
  .object({
    version: z.string().optional(),
    address: z.string({ error: 'expected host:port, e.g. 0.0.0.0:7373' }).default('0.0.0.0:7373'),
    admin: z
      .object({ identity: z.union([z.literal('disabled'), identity]).optional() }, mapping('expected a mapping with `identity`'))
      .strict()
      .optional(),
    tls: z
      .object(
        {
          key: path,
          cert: path,
          ca: path.optional(),
          auth: onOff.default(false),
        },
        mapping('expected a mapping with `key` and `cert` (PEM files)'),
      )
      // Unknown keys are refused, not ignored: a KES setting this kes lacks (tls.password, tls.proxy) must not
      // be silently dropped.
      .strict(),
    policy: z
      .record(
        z.string(),
        z
          .object(
            {
              allow: z
                .array(pattern)
                .nullish()
                .transform((v) => v ?? []),
              deny: z
                .array(pattern)
                .nullish()
                .transform((v) => v ?? []),
              identities: z
                .array(identity)
                .nullish()
                .transform((v) => v ?? []),
            },
            mapping('expected a mapping with `allow`, `deny` and `identities` lists'),
          )
          .strict(),
      )
      .nullish()
      .transform((v) => v ?? {}),
    node: z.string({ error: 'expected a name for this kes node, e.g. kes-1' }).min(1).optional(),
    keystore: z
      .object(
        {
          sqlite: z.object({ path }, mapping('expected a mapping with `path`')).strict().optional(),
          postgres: z
            .object(
              {
                url: z
                  .string({ error: 'expected postgres://user:password@host:5432/database' })
                  .regex(/^postgres(ql)?:\/\//, { message: 'expected postgres://user:password@host:5432/database' }),
                pool_size: z.number({ error: 'expected a number of connections, 1 to 100' }).int().min(1).max(100).optional(),
                timeout: duration.optional(),
                seal_poll: duration.optional(),
                listen_retry: duration.optional(),
              },
              mapping('expected a mapping with `url`'),
            )
            .strict()
            .optional(),
        },
        { error: 'expected `keystore: { sqlite: { path: <file> } }` or `keystore: { postgres: { url: postgres://… } }`' },
      )
      .strict()
      .refine((k) => (k.sqlite === undefined) !== (k.postgres === undefined), {
        message: 'expected exactly one of `keystore: { sqlite: { path: <file> } }` or `keystore: { postgres: { url: postgres://… } }`',
      }),
    unseal: z.object({ file: path }, mapping('expected a mapping with `file`')).strict().nullish(),
    log: z
      .object({
        error: onOff.default(true),
        // Any case: KES's own configs write INFO.
        level: z
          .preprocess(
            (v) => (typeof v === 'string' ? v.toLowerCase() : v),
            z.enum(LOG_LEVELS, { error: `expected one of ${LOG_LEVELS.join(', ')}` }),
          )
          .default('info'),
        format: z.enum(LOG_FORMATS, { error: 'expected json or pretty' }).default('json'),
        audit: z
          .union(
            [
              z.boolean(),
              z.string(),
              z
                .object({
                  file: path,
                  max_bytes: z.number({ error: 'expected a size in bytes (0: never rotate)' }).int().min(0).optional(),
                  keep: z.number({ error: 'expected how many rotated files to keep, 1 to 1000' }).int().min(1).max(1000).optional(),
                })
                .strict(),
            ],
            { error: 'expected on, off, stdout, a file path or { file, max_bytes, keep }' },
          )
          .default('off'),
      })
      .strict()
      .nullish(),
    metrics: z
      .object({
        bearer_token: z
          .string({ error: 'expected a token' })
          .min(16, { message: 'expected at least 16 characters (e.g. `openssl rand -hex 32`)' })
          .optional(),
      })
      .strict()
      .nullish(),
    keys: z
      .array(z.object({ name: z.string({ error: 'expected a key name' }) }, mapping('expected a mapping with `name`')).strict())
      .nullish()
      .transform((v) => v ?? []),
    api: z
      .record(
        z.string(),
        z
          .object({
            skip_auth: onOff.default(false),
            timeout: z
              .unknown()
              .optional()
              .transform((v, ctx) => {
                if (v === undefined || v === null) return undefined;
                const seconds = parseDuration(v);
                if (seconds === undefined)
                  ctx.addIssue({ code: 'custom', message: `expected a duration such as 15s, 1m or 500ms; got ${JSON.stringify(v)}` });
                return seconds;
              }),
          })
          .strict(),
      )
      .nullish()
      .transform((v) => v ?? {}),
  })
  .strict();

export interface ParseOptions {
  /** Directory that relative paths are resolved against (the config file's directory). */
  baseDir: string;
  env?: NodeJS.ProcessEnv;
  source?: string;
}

/** Reads, substitutes, validates and resolves a YAML config file. */
export function loadConfig(file: string, env: NodeJS.ProcessEnv = process.env): KesConfig {
  const abs = resolve(file);
  let text: string;
  try {
    text = readFileSync(abs, 'utf8');
  } catch (e) {
    throw new ConfigError(`cannot read config file ${abs}: ${(e as Error).message}`);
  }
  let raw: unknown;
  try {
    raw = parseYaml(protectEnvReferences(text));
  } catch (e) {
    throw new ConfigError(`config file ${abs} is not valid YAML: ${(e as Error).message}`);
  }
  return parseConfig(raw, { baseDir: dirname(abs), env, source: abs });
}

/** Validates an already-parsed config value (what YAML yields), e.g. one built in code. */
export function parseConfig(raw: unknown, options: ParseOptions): KesConfig {
  const where = options.source ? `config ${options.source}` : 'config';
  const substituted = substitute(raw, options.env ?? process.env, [], where);
  const result = schema.safeParse(substituted);
  if (!result.success) {
    const lines = result.error.issues.map((i) => `  ${formatPath(i.path)}: ${i.message}`);
    throw new ConfigError(`${where} is invalid:\n${lines.join('\n')}`);
  }
  const c = result.data;
  const at = (p: string) => (isAbsolute(p) ? p : resolve(options.baseDir, p));
  const { host, port } = parseAddress(c.address, where);

  const adminIdentity = c.admin?.identity === 'disabled' ? undefined : c.admin?.identity;
  const problems: string[] = [];
  const owner = new Map<string, string>();
  for (const [name, p] of Object.entries(c.policy)) {
    if (!isValidName(name))
      problems.push(`  policy.${name}: invalid policy name (1-80 characters of 0-9 A-Z a-z _ -, not starting or ending with '-')`);
    for (const id of p.identities) {
      if (id === adminIdentity)
        problems.push(
          `  policy.${name}.identities: ${id} is the admin identity, which may already do everything; remove it from the policy`,
        );
      const other = owner.get(id);
      if (other && other !== name)
        problems.push(`  policy.${name}.identities: ${id} is also listed in policy '${other}'; an identity belongs to exactly one policy`);
      owner.set(id, name);
    }
  }
  c.keys.forEach((k, i) => {
    if (!isValidName(k.name))
      problems.push(
        `  keys[${i}].name: invalid key name '${k.name}' (1-80 characters of 0-9 A-Z a-z _ -, not starting or ending with '-')`,
      );
  });
  if (c.tls.auth && !c.tls.ca) problems.push('  tls.ca: required when tls.auth is on (client certificates are verified against it)');
  if (problems.length) throw new ConfigError(`${where} is invalid:\n${problems.join('\n')}`);

  const auditSetting = c.log?.audit ?? 'off';
  const audit = typeof auditSetting === 'object' ? auditSetting.file : auditSetting;
  const auditRotate: AuditRotation =
    typeof auditSetting === 'object'
      ? { maxBytes: auditSetting.max_bytes ?? AUDIT_ROTATE_DEFAULT.maxBytes, keep: auditSetting.keep ?? AUDIT_ROTATE_DEFAULT.keep }
      : AUDIT_ROTATE_DEFAULT;
  return {
    address: c.address,
    host,
    port,
    admin: { identity: adminIdentity },
    tls: { key: at(c.tls.key), cert: at(c.tls.cert), ca: c.tls.ca ? at(c.tls.ca) : undefined, auth: c.tls.auth },
    policy: c.policy,
    keystore: c.keystore.sqlite
      ? { sqlite: { path: at(c.keystore.sqlite.path) } }
      : {
          postgres: {
            url: c.keystore.postgres!.url,
            poolSize: c.keystore.postgres!.pool_size ?? 10,
            timeoutMs: c.keystore.postgres!.timeout ?? 5_000,
            sealPollMs: c.keystore.postgres!.seal_poll ?? 500,
            listenRetryMs: c.keystore.postgres!.listen_retry ?? 2_000,
          },
        },
    node: c.node,
    unseal: c.unseal ? { file: at(c.unseal.file) } : undefined,
    log: {
      error: c.log?.error ?? true,
      level: c.log?.level ?? 'info',
      format: c.log?.format ?? 'json',
      audit: audit === false || audit === 'off' ? 'off' : audit === true || audit === 'on' || audit === 'stdout' ? 'stdout' : at(audit),
      auditRotate,
    },
    metrics: { bearerToken: c.metrics?.bearer_token },
    keys: c.keys.map((k) => ({ name: k.name })),
    api: Object.fromEntries(
      Object.entries(c.api).map(([k, v]) => [k, { skip_auth: v.skip_auth, ...(v.timeout !== undefined ? { timeout: v.timeout } : {}) }]),
    ),
    source: options.source,
  };
}

function parseAddress(address: string, where: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d{1,5})$/.exec(address.trim());
  const port = m ? Number(m[3]) : NaN;
  if (!m || port > 65535)
    throw new ConfigError(`${where} is invalid:\n  address: expected host:port such as 0.0.0.0:7373, got '${address}'`);
  return { host: m[1] ?? (m[2] || '0.0.0.0'), port };
}

const ENV_REF = /\$\{([A-Za-z_][A-Za-z0-9_]*)\}|__kesgate_env_([A-Za-z_][A-Za-z0-9_]*)__/g;

// "${X}" is not a plain YAML scalar inside flow mappings ("{ identity: ${X} }" is a YAML error),
// so before parsing each reference becomes a token YAML reads as plain text anywhere; the
// token is replaced after parsing, in the string value it ended up in.
function protectEnvReferences(text: string): string {
  return text.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g, (_, name: string) => `__kesgate_env_${name}__`);
}

function substitute(value: unknown, env: NodeJS.ProcessEnv, path: PropertyKey[], where: string): unknown {
  if (typeof value === 'string') {
    return value.replace(ENV_REF, (_, braced: string | undefined, token: string | undefined) => {
      const name = braced ?? token ?? '';
      const v = env[name];
      if (v === undefined)
        throw new ConfigError(`${where}: ${formatPath(path)} refers to the environment variable ${name}, which is not set`);
      return v;
    });
  }
  if (Array.isArray(value)) return value.map((v, i) => substitute(v, env, [...path, i], where));
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, substitute(v, env, [...path, k], where)]));
  }
  return value;
}

function formatPath(path: readonly PropertyKey[]): string {
  if (path.length === 0) return '(top level)';
  return path.map((p, i) => (typeof p === 'number' ? `[${p}]` : i === 0 ? String(p) : `.${String(p)}`)).join('');
}

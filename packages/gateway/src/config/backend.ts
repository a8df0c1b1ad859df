// The `backend` section of the gateway config: where metadata and encrypted blobs are kept.
//
//   backend: { fs: { path } }                                 the embedded layout (SQLite at path/meta.db, blobs under path)
//   backend:
//     metadata: { sqlite: { path } } | { postgres: { url } }
//     blobs:    { fs: { path } }     | { s3: { endpoint, bucket, region, accessKey, secretKey, prefix, pathStyle, ca } }
//   inlineThreshold: 8192          objects of at most this many stored (encrypted) bytes live in their metadata row;
//                                  0: never. Absent: DEFAULT_INLINE_THRESHOLD, 8192 (a 4 KiB object is 4,128 bytes
//                                  encrypted: it fits, and a row stays small)
//
// Messages name the field and never echo a value (a URL may carry a password).
import { z } from 'zod';
import { MAX_INLINE_THRESHOLD } from '../storage/inline-data.js';

/** A required non-empty string; the message says what belongs there. */
function required(what: string) {
  return z
    .string({ error: (issue) => (issue.input === undefined ? `is required (${what})` : 'expected a string') })
    .min(1, `must not be empty (${what})`);
}

function isUrl(value: string, protocols: string[]): boolean {
  try {
    return protocols.includes(new URL(value).protocol);
  } catch {
    return false;
  }
}

const sqliteSchema = z.object({ path: required('the database file, e.g. data/gateway/meta.db') }).strict();
const postgresSchema = z
  .object({
    url: required('postgres://user:password@host:5432/database').refine(
      (url) => isUrl(url, ['postgres:', 'postgresql:']),
      'expected a postgres://user:password@host:5432/database URL',
    ),
  })
  .strict();
const fsBlobsSchema = z.object({ path: required('the directory that holds the encrypted blobs') }).strict();
const s3BlobsSchema = z
  .object({
    endpoint: required('the upstream S3 URL, e.g. https://minio:9000').refine(
      (url) => isUrl(url, ['http:', 'https:']),
      'expected an http:// or https:// URL, e.g. https://minio:9000',
    ),
    bucket: required('the upstream bucket that holds the encrypted blobs'),
    region: z.string().min(1).default('us-east-1'),
    accessKey: required("the upstream's access key"),
    secretKey: required("the upstream's secret key"),
    /** Prepended to every blob's name, e.g. `kesgate/`. */
    prefix: z.string().default(''),
    /** Path-style requests (https://host/bucket/blob): what MinIO, Ceph and most self-hosted stores expect. */
    pathStyle: z.boolean().default(true),
    /** A PEM file of the CA that signed the upstream's certificate (default: the system's CAs). */
    ca: z.string().min(1).optional(),
  })
  .strict();

type SqliteMetadataConfig = z.output<typeof sqliteSchema>;
type PostgresMetadataConfig = z.output<typeof postgresSchema>;
type FsBlobsConfig = z.output<typeof fsBlobsSchema>;
export type S3BlobsConfig = z.output<typeof s3BlobsSchema>;

export type MetadataConfig = { sqlite: SqliteMetadataConfig } | { postgres: PostgresMetadataConfig };
export type BlobsConfig = { fs: FsBlobsConfig } | { s3: S3BlobsConfig };
/** The embedded shorthand, or the two stores named; and how small an object must be to live inline. */
export type BackendConfig = ({ fs: FsBlobsConfig } | { metadata: MetadataConfig; blobs: BlobsConfig }) & { inlineThreshold?: number };

/** Exactly one of the given members must be present. */
function oneOf<T extends Record<string, z.ZodType>>(members: T, hint: string) {
  const names = Object.keys(members);
  return z
    .object(Object.fromEntries(names.map((n) => [n, members[n]!.optional()])) as { [K in keyof T]: z.ZodOptional<T[K]> })
    .strict()
    .superRefine((value, ctx) => {
      const given = names.filter((n) => (value as Record<string, unknown>)[n] !== undefined);
      if (given.length === 0) ctx.addIssue({ code: 'custom', message: `needs one of ${names.join(', ')}: ${hint}` });
      if (given.length > 1) ctx.addIssue({ code: 'custom', message: `takes one of ${given.join(', ')}, not both` });
    });
}

const metadataSchema = oneOf({ sqlite: sqliteSchema, postgres: postgresSchema }, 'sqlite: { path } or postgres: { url }');
const blobsSchema = oneOf({ fs: fsBlobsSchema, s3: s3BlobsSchema }, 'fs: { path } or s3: { endpoint, bucket, accessKey, secretKey, … }');

export const backendSchema = z
  .object({
    fs: fsBlobsSchema.optional(),
    metadata: metadataSchema.optional(),
    blobs: blobsSchema.optional(),
    inlineThreshold: z
      .number({ error: `expected a number of bytes (0 to ${MAX_INLINE_THRESHOLD}; 0 keeps every object in a blob)` })
      .int('expected a whole number of bytes')
      .min(0, 'must not be negative (0 keeps every object in a blob)')
      .max(MAX_INLINE_THRESHOLD, `must be at most ${MAX_INLINE_THRESHOLD} bytes (a metadata row stays small)`)
      .optional(), // absent: DEFAULT_INLINE_THRESHOLD, applied where the store is opened
  })
  .strict()
  .superRefine((b, ctx) => {
    const split = b.metadata !== undefined || b.blobs !== undefined;
    if (b.fs && split) {
      ctx.addIssue({ code: 'custom', message: 'takes either fs: { path } (the embedded layout) or metadata: and blobs:, not both' });
    } else if (!b.fs && !split) {
      ctx.addIssue({ code: 'custom', message: 'needs fs: { path } (the embedded layout), or metadata: and blobs:' });
    } else if (split && b.metadata === undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['metadata'],
        message: 'is required with backend.blobs (sqlite: { path } or postgres: { url })',
      });
    } else if (split && b.blobs === undefined) {
      ctx.addIssue({ code: 'custom', path: ['blobs'], message: 'is required with backend.metadata (fs: { path } or s3: { … })' });
    }
  })
  .transform((b): BackendConfig => {
    const inline = b.inlineThreshold !== undefined ? { inlineThreshold: b.inlineThreshold } : {};
    if (b.fs) return { fs: b.fs, ...inline };
    const metadata: MetadataConfig = b.metadata!.sqlite ? { sqlite: b.metadata!.sqlite } : { postgres: b.metadata!.postgres! };
    const blobs: BlobsConfig = b.blobs!.fs ? { fs: b.blobs!.fs } : { s3: b.blobs!.s3! };
    return { metadata, blobs, ...inline };
  });

/** The same backend with its file paths resolved by `abs` (relative paths are relative to the config file). */
export function resolveBackendPaths(b: BackendConfig, abs: (path: string) => string): BackendConfig {
  const inline = b.inlineThreshold !== undefined ? { inlineThreshold: b.inlineThreshold } : {};
  if ('fs' in b) return { fs: { path: abs(b.fs.path) }, ...inline };
  const metadata: MetadataConfig = 'sqlite' in b.metadata ? { sqlite: { path: abs(b.metadata.sqlite.path) } } : b.metadata;
  let blobs: BlobsConfig;
  if ('fs' in b.blobs) blobs = { fs: { path: abs(b.blobs.fs.path) } };
  else {
    const { ca, ...s3 } = b.blobs.s3;
    blobs = { s3: { ...s3, ...(ca !== undefined && { ca: abs(ca) }) } };
  }
  return { metadata, blobs, ...inline };
}

// The encryption record stored with every object and multipart upload (docs/object-format.md, "What the gateway
// stores"). Storage keeps it as JSON and checks its shape once, where rows are read; the SSE modes (src/sse/)
// make and read it. It lives here, beside the records that carry it, so that storage depends on no SSE module.
import { StorageError } from './errors.js';

/** The SSE modes a record can name, as the object format names its seal domains. */
export const SSE_KINDS = ['SSE-C', 'SSE-S3', 'SSE-KMS'] as const;
export type SSEKind = (typeof SSE_KINDS)[number];

/** What an object sealed under a bucket key records about it (with kmsKey and kmsKeyVersion beside it). */
export interface StoredBucketKey {
  /** Random, names the bucket key in its kes context. */
  id: string;
  /** base64 of the bucket key's kes ciphertext. */
  kmsCiphertext: string;
}

/**
 * The encryption fields stored with an object or upload. All of it is safe to show: the OEK is sealed, the EK
 * is a kes ciphertext or (SSE-C) never stored. Fields other than these are kept as they are.
 */
export interface StoredSSE {
  sse: SSEKind;
  iv: string;
  sealAlgorithm: string;
  sealedKey: string;
  kmsKey?: string;
  kmsKeyVersion?: string;
  kmsCiphertext?: string;
  /** base64 of the canonical JSON of the client's SSE-KMS context, if one was given. */
  kmsContext?: string;
  /** SSE-C: the MD5 of the client's key, echoed back as AWS does. */
  sseCKeyMD5?: string;
  /** Sealed under a bucket key rather than a data key of its own: which one. No kmsCiphertext then. */
  bucketKey?: StoredBucketKey;
  /** Multipart objects encrypt part n under partKey(OEK, n); single-part objects under the OEK itself. */
  multipart?: boolean;
}

/** A stored encryption record that is not one: the object cannot be decrypted or rotated until it is repaired. */
export class MalformedSSERecord extends StorageError {
  readonly code = 'InternalError';
  readonly status = 500;
  constructor(
    readonly object: string,
    reason: string,
  ) {
    super(`The stored encryption record of ${object} is malformed: ${reason}`);
  }
}

const REQUIRED = ['iv', 'sealAlgorithm', 'sealedKey'] as const;
const OPTIONAL = ['kmsKey', 'kmsKeyVersion', 'kmsCiphertext', 'kmsContext', 'sseCKeyMD5'] as const;

/**
 * The record in `json` (a row's `sse` column), its shape checked: a known mode and the fields above with their
 * types. `object` names the object or upload for the error. The parsed value is returned as it is (no field
 * added, dropped or reordered), so writing it back stores the same bytes.
 */
export function parseStoredSSE(json: string, object: string): StoredSSE {
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch {
    throw new MalformedSSERecord(object, 'it is not JSON');
  }
  const problem = shapeProblem(value);
  if (problem) throw new MalformedSSERecord(object, problem);
  return value as StoredSSE;
}

/** What is wrong with `value` as a StoredSSE, or undefined when nothing is. */
function shapeProblem(value: unknown): string | undefined {
  if (!isObject(value)) return 'it is not a JSON object';
  if (!SSE_KINDS.includes(value.sse as SSEKind)) return `it names no known encryption ("sse": ${JSON.stringify(value.sse) ?? 'absent'})`;
  for (const f of REQUIRED) if (typeof value[f] !== 'string') return `"${f}" is ${describe(value[f])}, not a string`;
  for (const f of OPTIONAL)
    if (value[f] !== undefined && typeof value[f] !== 'string') return `"${f}" is ${describe(value[f])}, not a string`;
  const bk = value.bucketKey;
  if (bk !== undefined && !(isObject(bk) && typeof bk.id === 'string' && typeof bk.kmsCiphertext === 'string')) {
    return '"bucketKey" is not an object with string "id" and "kmsCiphertext"';
  }
  if (value.multipart !== undefined && typeof value.multipart !== 'boolean')
    return `"multipart" is ${describe(value.multipart)}, not a boolean`;
  return undefined;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function describe(v: unknown): string {
  if (v === undefined) return 'absent';
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  return typeof v === 'object' ? 'an object' : `a ${typeof v}`;
}

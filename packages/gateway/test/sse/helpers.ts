// Shared by the per-mode tests: a key service the rules under test must never call, and S3 error matching.
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import type { KMS } from '../../src/kms/kms.js';
import { S3Error } from '../../src/s3/errors.js';
import type { ObjectPath, SSEMode } from '../../src/sse/mode.js';
import type { CustomerKey, StoredSSE } from '../../src/sse/types.js';

/** A KMS that fails the test when asked: the rules tested with it decide without kes. */
export const noKes: KMS = {
  defaultKey: 'default-key',
  generate: () => Promise.reject(new Error('kes was asked')),
  decrypt: () => Promise.reject(new Error('kes was asked')),
};

/** `fn` throws (or rejects with) the S3 error `code`, naming `argument` when given; returns it. */
export async function s3ErrorOf(fn: () => unknown, code: string, argument?: string): Promise<S3Error> {
  try {
    await fn();
  } catch (err) {
    assert.ok(err instanceof S3Error, `expected an S3Error ${code}, got ${String(err)}`);
    assert.equal(err.code, code, err.message);
    if (argument !== undefined) assert.equal(err.extra?.ArgumentName, argument);
    return err;
  }
  assert.fail(`expected the S3 error ${code}, but nothing was thrown`);
}

export function customerKey(): CustomerKey {
  const key = randomBytes(32);
  return { key, keyMD5: createHash('md5').update(key).digest('base64') };
}

/** The headers of `getter` as a plain object lookup, the way the request parsers read them. */
export const headersOf =
  (h: Record<string, string>) =>
  (name: string): string | undefined =>
    h[name];

export const digests = { md5Hex: 'd41d8cd98f00b204e9800998ecf8427e' };

/** What SSE-S3 and SSE-KMS (one implementation, kms-backed.ts) both do: an SSE-C key is refused before kes is asked. */
export async function refusesCustomerKey(mode: SSEMode, record: StoredSSE, path: ObjectPath): Promise<void> {
  assert.doesNotThrow(() => mode.checkPartKey(record, undefined));
  await s3ErrorOf(() => mode.checkPartKey(record, customerKey()), 'InvalidRequest');
  await mode.checkMetadataAccess(record, path, undefined);
  await s3ErrorOf(() => mode.checkMetadataAccess(record, path, customerKey()), 'InvalidRequest');
  await s3ErrorOf(() => mode.unseal(record, path, customerKey()), 'InvalidRequest');
}

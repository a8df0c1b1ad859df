// S3 Bucket Keys: one kes data key shared by many objects of a bucket, so that writing and reading them costs
// a kes call per bucket key and cache period rather than one per object. Each object still gets its own random
// object key (OEK), sealed with the bucket key as the external key: the per-object random IV and the object's
// path in the KEK derivation keep every object's KEK distinct (FORMAT.md, "Bucket keys").
import { randomBytes } from 'node:crypto';
import type { CachingKMS } from '../kms/caching-kms.js';
import type { StoredBucketKey } from '../storage/sse-record.js';
import { canonicalJSON } from './kms-context.js';

export interface BucketKeyLimits {
  /** A bucket key is used for new objects at most this long after kes made it. */
  lifetimeSeconds: number;
  /** …and for at most this many objects. */
  maxObjects: number;
}

/** A bucket key lent to one write: the caller wipes `plaintext`. */
export interface BucketKeyLoan {
  stored: StoredBucketKey;
  keyName: string;
  version?: string;
  plaintext: Buffer;
}

/**
 * The kes context of a bucket key: the bucket (as AWS names it, by ARN — a key no bucket name can be, so it
 * never meets an object context) and the bucket key's id, merged with the client's SSE-KMS context. The
 * client's context is thus bound at kes as for a per-object key; the gateway's entries win.
 */
export function bucketKeyContext(bucket: string, id: string, client?: Record<string, string>): Buffer {
  return Buffer.from(canonicalJSON({ ...(client ?? {}), 'aws:s3:arn': `arn:aws:s3:::${bucket}`, 'kesgate:bucket-key': id }), 'utf8');
}

const PRUNE_AT = 1024;

interface Current {
  stored: StoredBucketKey;
  ciphertext: Buffer;
  context: Buffer;
  keyName: string;
  version?: string;
  madeAt: number;
  uses: number;
}

/**
 * The bucket keys in use for writing, one per (bucket, master key, client context). Only the kes ciphertext is
 * held here; the plaintext comes through the caching KMS, so it lives no longer than the cache's bound and a
 * sealed or deleted master key stops writes as it stops reads. Concurrent writes needing a new bucket key wait
 * for one generate.
 */
export class BucketKeyPool {
  private readonly current = new Map<string, Current>();
  private readonly making = new Map<string, Promise<Current>>();

  constructor(
    private readonly kms: CachingKMS,
    private readonly limits: BucketKeyLimits,
    private readonly now: () => number = Date.now,
  ) {}

  /**
   * A bucket key of `keyName` for a new object in `bucket`. `version`: the master key version it must be made
   * under (rotation onto the latest); a bucket key of another version is replaced.
   */
  async lend(bucket: string, keyName: string, client: Record<string, string> | undefined, version?: string): Promise<BucketKeyLoan> {
    const slot = JSON.stringify([bucket, keyName, client ? canonicalJSON(client) : '']);
    const cur = this.current.get(slot);
    if (cur && this.usable(cur, version)) {
      cur.uses++;
      try {
        return { ...loanOf(cur), plaintext: await this.kms.decrypt(cur.keyName, cur.ciphertext, cur.context, cur.version) };
      } catch {
        // kes refused it (sealed, deleted, perhaps re-created under the same name): retire it and try a new one,
        // whose failure, if kes still refuses, is the answer.
        if (this.current.get(slot) === cur) this.current.delete(slot);
      }
    }
    return this.fresh(slot, bucket, keyName, client);
  }

  private usable(cur: Current, version: string | undefined): boolean {
    if (version !== undefined && cur.version !== version) return false;
    return cur.uses < this.limits.maxObjects && this.now() - cur.madeAt < this.limits.lifetimeSeconds * 1000;
  }

  private async fresh(slot: string, bucket: string, keyName: string, client: Record<string, string> | undefined): Promise<BucketKeyLoan> {
    let pending = this.making.get(slot);
    if (!pending) {
      pending = this.make(bucket, keyName, client).finally(() => this.making.delete(slot));
      this.making.set(slot, pending);
    }
    const cur = await pending;
    if (this.current.get(slot) !== cur) {
      this.current.set(slot, cur);
      this.prune();
    }
    cur.uses++;
    return { ...loanOf(cur), plaintext: await this.kms.decrypt(cur.keyName, cur.ciphertext, cur.context, cur.version) };
  }

  /** Bucket keys past their lifetime or count are dropped now and then, so many buckets and contexts do not pile up. */
  private prune(): void {
    if (this.current.size < PRUNE_AT) return;
    for (const [slot, cur] of this.current) if (!this.usable(cur, undefined)) this.current.delete(slot);
  }

  private async make(bucket: string, keyName: string, client: Record<string, string> | undefined): Promise<Current> {
    const id = randomBytes(16).toString('hex');
    const context = bucketKeyContext(bucket, id, client);
    const dk = await this.kms.generate(keyName, context);
    try {
      this.kms.remember(keyName, dk, context);
    } finally {
      dk.plaintext.fill(0);
    }
    return {
      stored: { id, kmsCiphertext: dk.ciphertext.toString('base64') },
      ciphertext: dk.ciphertext,
      context,
      keyName,
      ...(dk.version !== undefined ? { version: dk.version } : {}),
      madeAt: this.now(),
      uses: 0,
    };
  }
}

function loanOf(cur: Current): Omit<BucketKeyLoan, 'plaintext'> {
  return { stored: cur.stored, keyName: cur.keyName, ...(cur.version !== undefined ? { version: cur.version } : {}) };
}

// The KMS with its decrypt answers kept for a bounded time (key-cache.ts): what reads and bucket keys go through.
import type { DataKey } from '@kesgate/kes-client';
import type { KeyCache } from './key-cache.js';
import type { KMS } from './kms.js';

/**
 * A data key is named by everything kes checks when it unwraps one: the master key, its version, the
 * ciphertext and the context. A cached key is thus only served for exactly what kes would have answered.
 */
export function dataKeyId(keyName: string, ciphertext: Buffer, context: Buffer, version: string | undefined): string {
  return JSON.stringify([keyName, version ?? '', ciphertext.toString('base64'), context.toString('base64')]);
}

export class CachingKMS implements KMS {
  constructor(
    private readonly kms: KMS,
    private readonly cache: KeyCache,
  ) {}

  get defaultKey(): string {
    return this.kms.defaultKey;
  }

  /** A fresh data key: always from kes (nothing to cache about a key never seen). */
  generate(keyName: string, context: Buffer): Promise<DataKey> {
    return this.kms.generate(keyName, context);
  }

  /** The data key of `ciphertext`: from memory while its entry lives, else from kes. The caller wipes the copy it gets. */
  decrypt(keyName: string, ciphertext: Buffer, context: Buffer, version?: string): Promise<Buffer> {
    return this.cache.get(dataKeyId(keyName, ciphertext, context, version), () => this.kms.decrypt(keyName, ciphertext, context, version));
  }

  /** Remember a key kes just generated, so its next uses within the bound need no decrypt. */
  remember(keyName: string, dk: DataKey, context: Buffer): void {
    this.cache.put(dataKeyId(keyName, dk.ciphertext, context, dk.version), dk.plaintext);
  }

  /** Forget a key (kes refused it, or it is retired). */
  forget(keyName: string, ciphertext: Buffer, context: Buffer, version: string | undefined): void {
    this.cache.delete(dataKeyId(keyName, ciphertext, context, version));
  }
}

import { KesClient, KesError, KesUnavailableError, type DataKey } from '@kesgate/kes-client';
import { S3Error } from '../s3/errors.js';

/** What the gateway needs from a key service: fresh data keys, and data keys back from their ciphertexts. */
export interface KMS {
  readonly defaultKey: string;
  generate(keyName: string, context: Buffer): Promise<DataKey>;
  decrypt(keyName: string, ciphertext: Buffer, context: Buffer, version?: string): Promise<Buffer>;
}

export type KmsObserver = (op: 'generate' | 'decrypt', seconds: number, outcome: string) => void;

/**
 * The kes-backed KMS. Every kes failure becomes the S3 error docs/s3-api.md's SSE table names, so handlers never see
 * kes's own errors and a client always gets a retryable 503 when kes is sealed or away.
 */
export class KesKMS implements KMS {
  constructor(
    private readonly client: KesClient,
    readonly defaultKey: string,
    private readonly observe: KmsObserver = () => {},
  ) {}

  generate(keyName: string, context: Buffer): Promise<DataKey> {
    return this.timed('generate', keyName, () => this.client.generateKey(keyName, context));
  }

  decrypt(keyName: string, ciphertext: Buffer, context: Buffer, version?: string): Promise<Buffer> {
    return this.timed('decrypt', keyName, () => this.client.decryptKey(keyName, ciphertext, context, version));
  }

  private async timed<T>(op: 'generate' | 'decrypt', keyName: string, fn: () => Promise<T>): Promise<T> {
    const start = process.hrtime.bigint();
    let outcome = 'ok';
    try {
      return await fn();
    } catch (err) {
      const mapped = mapKesError(err, keyName, op);
      outcome = mapped.code;
      throw mapped;
    } finally {
      this.observe(op, Number(process.hrtime.bigint() - start) / 1e9, outcome);
    }
  }
}

/** kes's answers → the S3 errors of the SSE error table in docs/s3-api.md. */
export function mapKesError(err: unknown, keyName: string, op: 'generate' | 'decrypt'): S3Error {
  if (err instanceof S3Error) return err;
  // kes sealed or away: the client logs one line when a node goes down and one when it is back.
  if (err instanceof KesUnavailableError) {
    return new S3Error('ServiceUnavailable', 'KMS is unavailable', { cause: err, outage: true });
  }
  if (!(err instanceof KesError)) {
    return new S3Error('ServiceUnavailable', 'KMS is unavailable', { cause: err });
  }
  if (err.status === 503) return new S3Error('ServiceUnavailable', 'KMS is sealed', { cause: err, outage: true });
  if (err.status === 404) {
    return new S3Error('KMS.NotFoundException', `The KMS key "${keyName}" does not exist.`, { cause: err });
  }
  if (err.status === 403 && /sealed/.test(err.message)) {
    return new S3Error('KMS.DisabledException', `The KMS key "${keyName}" is sealed.`, { cause: err });
  }
  if (err.status === 403) {
    return new S3Error('AccessDenied', `The gateway is not allowed to use the KMS key "${keyName}".`, { cause: err });
  }
  if (err.status === 400 && /too old/.test(err.message)) {
    return new S3Error('KMS.DisabledException', `The KMS key "${keyName}" no longer decrypts the version this object was sealed with.`, {
      cause: err,
    });
  }
  if (op === 'decrypt' && err.status === 400) {
    // The master key that made this data key is gone: deleted (perhaps re-created under the same name).
    return new S3Error('KMS.NotFoundException', `The KMS key "${keyName}" that sealed this object no longer exists.`, { cause: err });
  }
  return new S3Error('ServiceUnavailable', 'KMS is unavailable', { cause: err });
}

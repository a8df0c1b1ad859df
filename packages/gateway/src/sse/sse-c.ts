import { ErrKeyMismatch, SEAL_ALGORITHM, sealObjectKey, unsealObjectKey } from '@kesgate/dare';
import { S3Error } from '../s3/errors.js';
import type { ObjectPath, SSEMode, SealedObject } from './mode.js';
import type { CustomerKey, SSERequest, StoredSSE } from './types.js';

const pathOf = (p: ObjectPath): string => `${p.bucket}/${p.key}`;

/** SSE-C: the client's key is the EK. Never stored: only its MD5, which AWS echoes back too. */
export const sseC: SSEMode = {
  kind: 'SSE-C',

  async seal(req: SSERequest, path: ObjectPath, oek?: Buffer): Promise<SealedObject> {
    if (req.kind !== 'SSE-C') throw new Error(`SSE-C mode asked to seal a ${req.kind} request`);
    const sealed = sealObjectKey({ ek: req.key, domain: 'SSE-C', path: pathOf(path), ...(oek ? { oek } : {}) });
    return {
      oek: sealed.oek,
      stored: {
        sse: 'SSE-C',
        iv: sealed.iv.toString('base64'),
        sealAlgorithm: SEAL_ALGORITHM,
        sealedKey: sealed.sealedKey.toString('base64'),
        sseCKeyMD5: req.keyMD5,
      },
    };
  },

  async unseal(stored: StoredSSE, path: ObjectPath, customer: CustomerKey | undefined): Promise<Buffer> {
    if (!customer) {
      throw new S3Error(
        'InvalidRequest',
        'The object was stored using a form of Server Side Encryption. The correct parameters must be provided to retrieve the object.',
      );
    }
    try {
      return unsealObjectKey({
        ek: customer.key,
        domain: 'SSE-C',
        path: pathOf(path),
        iv: Buffer.from(stored.iv, 'base64'),
        sealedKey: Buffer.from(stored.sealedKey, 'base64'),
      });
    } catch (err) {
      if (err instanceof ErrKeyMismatch) {
        throw new S3Error('AccessDenied', 'The SSE-C key does not match the key the object was encrypted with.');
      }
      throw err;
    }
  },

  responseHeaders(stored: StoredSSE): Record<string, string> {
    return {
      'x-amz-server-side-encryption-customer-algorithm': 'AES256',
      'x-amz-server-side-encryption-customer-key-md5': stored.sseCKeyMD5 ?? '',
    };
  },
};

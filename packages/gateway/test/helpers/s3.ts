import { createHash, randomBytes } from 'node:crypto';
import type { CompleteMultipartUploadCommandOutput, CreateMultipartUploadCommandInput, S3Client } from '@aws-sdk/client-s3';
import {
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  GetObjectCommand,
  HeadObjectCommand,
  UploadPartCommand,
} from '@aws-sdk/client-s3';

export function ssec(key: Buffer = randomBytes(32)) {
  return {
    key,
    put: {
      SSECustomerAlgorithm: 'AES256',
      SSECustomerKey: key.toString('base64'),
      SSECustomerKeyMD5: createHash('md5').update(key).digest('base64'),
    },
    copySource: {
      CopySourceSSECustomerAlgorithm: 'AES256',
      CopySourceSSECustomerKey: key.toString('base64'),
      CopySourceSSECustomerKeyMD5: createHash('md5').update(key).digest('base64'),
    },
  };
}

export async function getBytes(s3: S3Client, input: ConstructorParameters<typeof GetObjectCommand>[0]): Promise<Buffer> {
  const r = await s3.send(new GetObjectCommand(input));
  return Buffer.from(await r.Body!.transformToByteArray());
}

/** The S3 error code and HTTP status an SDK call failed with. */
export async function s3Error(p: Promise<unknown>): Promise<{ code: string; status: number; message: string }> {
  try {
    await p;
  } catch (e) {
    const err = e as { name: string; Code?: string; message: string; $metadata?: { httpStatusCode?: number } };
    return { code: err.Code ?? err.name, status: err.$metadata?.httpStatusCode ?? 0, message: err.message };
  }
  throw new Error('expected the S3 call to fail, it succeeded');
}

export async function exists(s3: S3Client, Bucket: string, Key: string): Promise<boolean> {
  try {
    await s3.send(new HeadObjectCommand({ Bucket, Key }));
    return true;
  } catch (e) {
    const status = (e as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
    if (status === 404) return false;
    // An SSE-C object answers 400 to a HEAD without its key: it exists.
    if (status === 400) return true;
    throw e;
  }
}

/**
 * The command with its HTTP headers changed just before signing: to send what the SDK itself would never
 * send (a malformed SSE-C header, a header on the wrong operation). `undefined` removes a header.
 */
export function withHeaders<C extends { middlewareStack: { add: (...a: never[]) => unknown } }>(
  cmd: C,
  headers: Record<string, string | undefined>,
): C {
  (cmd.middlewareStack as unknown as { add: (mw: unknown, opts: unknown) => void }).add(
    (next: (args: unknown) => Promise<unknown>) => async (args: { request: { headers: Record<string, string> } }) => {
      for (const [k, v] of Object.entries(headers)) {
        for (const existing of Object.keys(args.request.headers)) if (existing.toLowerCase() === k) delete args.request.headers[existing];
        if (v !== undefined) args.request.headers[k] = v;
      }
      return next(args);
    },
    { step: 'build', priority: 'low', name: 'testHeaders' },
  );
  return cmd;
}

/**
 * A whole multipart upload: created with `create` (bucket, key, SSE…), `parts` uploaded in order from 1, completed.
 * Answers Complete's output and the upload's id (to show that it is gone afterwards).
 */
export async function uploadInParts(
  s3: S3Client,
  create: CreateMultipartUploadCommandInput & { Bucket: string; Key: string },
  parts: Buffer[],
): Promise<CompleteMultipartUploadCommandOutput & { UploadId: string }> {
  const { Bucket, Key } = create;
  const { UploadId } = await s3.send(new CreateMultipartUploadCommand(create));
  const etags: string[] = [];
  for (const [i, Body] of parts.entries()) {
    etags.push((await s3.send(new UploadPartCommand({ Bucket, Key, UploadId, PartNumber: i + 1, Body }))).ETag!);
  }
  const done = await s3.send(
    new CompleteMultipartUploadCommand({
      Bucket,
      Key,
      UploadId,
      MultipartUpload: { Parts: etags.map((ETag, i) => ({ PartNumber: i + 1, ETag })) },
    }),
  );
  return { ...done, UploadId: UploadId! };
}

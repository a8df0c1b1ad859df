// Reads a multipart/form-data upload (POST Object) as it streams: the fields before the file are
// collected (AWS allows 20 KB of them), and the file is handed over as a stream the moment its part
// begins — never buffered. Fields after the file are ignored, as AWS ignores them.
import type { IncomingMessage } from 'node:http';
import { PassThrough, type Readable } from 'node:stream';
import busboy from 'busboy';
import { S3Error } from '../s3/errors.js';

/** Form data before the file, as AWS counts it. */
const MAX_PRE_DATA = 20 * 1024;
/** A "file" sent as a plain field (a text area) is buffered: it is limited to this. */
const MAX_TEXT_FILE = 1024 * 1024;

export interface PostForm {
  /** The fields before the file, by lowercase name; repeated names joined by `,`. */
  fields: Map<string, string>;
  /** The file's bytes. Fails with an S3Error when the form ends before the file does. */
  file: Readable;
  /** The file name the client gave, path removed (`C:\dir\a.txt` → `a.txt`); '' when none. */
  filename: string;
  /** Stops reading the request (after a refusal). */
  abort(): void;
}

function preDataTooLarge(): S3Error {
  return new S3Error('MaxPostPreDataLengthExceededError', undefined, { extra: { MaxSizeAllowed: String(MAX_PRE_DATA) } });
}

function malformed(err: unknown): S3Error {
  if (err instanceof S3Error) return err;
  const detail = err instanceof Error ? ` (${err.message})` : '';
  return new S3Error('MalformedPOSTRequest', `The body of your POST request is not well-formed multipart/form-data${detail}.`);
}

/**
 * Resolves when the part named `file` begins (with the fields before it), or rejects: not a
 * multipart/form-data body (412 PreconditionFailed, as AWS answers), a malformed body, too much data
 * before the file, or no file at all.
 */
export function readPostForm(req: IncomingMessage): Promise<PostForm> {
  const contentType = req.headers['content-type'] ?? '';
  if (!/^multipart\/form-data\s*(;|$)/i.test(contentType)) {
    return Promise.reject(
      new S3Error('PreconditionFailed', 'Bucket POST must be of the enclosure-type multipart/form-data', {
        extra: { Condition: 'Bucket POST must be of the enclosure-type-multipart/form-data' },
      }),
    );
  }
  let bb: busboy.Busboy;
  try {
    bb = busboy({
      headers: req.headers,
      defParamCharset: 'utf8',
      limits: { fieldNameSize: 1024, fieldSize: MAX_TEXT_FILE, fields: 1000, parts: 1000 },
    });
  } catch (err) {
    return Promise.reject(malformed(err));
  }

  return new Promise<PostForm>((resolve, reject) => {
    const fields = new Map<string, string>();
    let preData = 0;
    let file: PassThrough | undefined;
    let settled = false;

    const abort = (): void => {
      req.unpipe(bb);
      bb.destroy();
      // The rest of the body is not read; the error handler closes the connection after replying.
      req.pause();
    };
    const fail = (err: S3Error): void => {
      if (settled) return;
      settled = true;
      abort();
      reject(err);
    };
    const addField = (name: string, value: string): void => {
      preData += Buffer.byteLength(name) + Buffer.byteLength(value);
      if (preData > MAX_PRE_DATA) throw preDataTooLarge();
      const key = name.toLowerCase();
      const before = fields.get(key);
      fields.set(key, before === undefined ? value : `${before},${value}`);
    };
    const begin = (body: PassThrough, filename: string): void => {
      settled = true;
      file = body;
      // Its error stays on the stream for whoever reads it; unheard (a refusal before reading), it must not end the process.
      body.on('error', () => {});
      resolve({ fields, file: body, filename: filename.split(/[/\\]/).pop() ?? '', abort });
    };

    bb.on('field', (name, value, info) => {
      if (file !== undefined || settled) return;
      try {
        if (name.toLowerCase() === 'file') {
          if (info.valueTruncated) {
            throw new S3Error(
              'EntityTooLarge',
              `A file sent as a text field is limited to ${MAX_TEXT_FILE} bytes here; send it as a file part.`,
            );
          }
          const body = new PassThrough();
          body.end(Buffer.from(value, 'utf8'));
          begin(body, '');
          return;
        }
        if (info.nameTruncated || info.valueTruncated) throw preDataTooLarge();
        addField(name, value);
      } catch (err) {
        fail(err as S3Error);
      }
    });

    bb.on('file', (name, stream, info) => {
      stream.on('error', () => {}); // busboy destroys a part's stream with an error when the form is cut short
      if (file !== undefined || settled) {
        stream.resume(); // after the file: ignored
        return;
      }
      if (name.toLowerCase() !== 'file') {
        // A field sent as a file part (some clients do): its content is the field's value.
        const chunks: Buffer[] = [];
        let size = 0;
        stream.on('data', (c: Buffer) => {
          size += c.length;
          if (size > MAX_PRE_DATA) {
            stream.resume();
            fail(preDataTooLarge());
            return;
          }
          chunks.push(c);
        });
        stream.on('end', () => {
          if (settled) return;
          try {
            addField(name, Buffer.concat(chunks).toString('utf8'));
          } catch (err) {
            fail(err as S3Error);
          }
        });
        return;
      }
      const body = new PassThrough();
      stream.on('error', (err) => body.destroy(malformed(err)));
      stream.pipe(body);
      begin(body, info.filename ?? '');
    });

    bb.on('error', (err) => {
      // Before the file: the form is malformed. During it: the file is incomplete and must not be stored.
      if (file !== undefined && !file.writableFinished) file.destroy(malformed(err));
      fail(malformed(err));
    });
    bb.on('close', () => {
      if (!settled)
        fail(new S3Error('IncorrectNumberOfFilesInPostRequest', undefined, { extra: { ArgumentName: 'file', ArgumentValue: '0' } }));
    });
    req.on('close', () => {
      if (!req.complete) {
        const gone = new S3Error('IncompleteBody', 'The connection closed before the whole form arrived.');
        if (file !== undefined && !file.writableFinished) file.destroy(gone);
        fail(gone);
      }
    });
    req.pipe(bb);
  });
}

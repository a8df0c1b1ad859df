// The body of a PUT that sets a configuration document (versioning, default encryption, tags, CORS, ownership
// controls, public access block). AWS refuses one with no document at all as 400 MissingRequestBodyError
// ("Request Body is empty") before reading it as XML; MalformedXML is for a document that is there but wrong.
// CompleteMultipartUpload and DeleteObjects are not configuration PUTs: an empty body there stays MalformedXML.
import { S3Error } from './errors.js';

/** `body` itself, or MissingRequestBodyError when it is empty or only whitespace (no document in it). */
export function configurationDocument(body: Buffer): Buffer {
  if (body.toString('utf8').trim() === '') throw new S3Error('MissingRequestBodyError', 'Request Body is empty');
  return body;
}

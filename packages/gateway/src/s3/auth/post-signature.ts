// The signature of a browser form upload (POST Object): the form signs its base64 policy, either with
// SigV4 (`x-amz-algorithm`, `x-amz-credential`, `x-amz-date`, `x-amz-signature` = hex HMAC-SHA256 of the
// policy under the derived signing key) or with SigV2 (`AWSAccessKeyId`, `signature` = base64
// HMAC-SHA1 of the policy under the secret key). The policy itself is checked in post-policy.ts.
import { createHmac } from 'node:crypto';
import { S3Error } from '../errors.js';
import { ALGORITHM, deriveSigningKey, parseAmzDate } from './canonical.js';
import { signV2 } from './sigv2.js';
import { constantTimeEqualHex, type CredentialLookup, parseCredential } from './sigv4.js';

export interface PostSignatureOptions {
  lookup: CredentialLookup;
  region: string;
}

const missing = (field: string): S3Error =>
  new S3Error(
    'InvalidArgument',
    `Bucket POST must contain a field named '${field}'.  If it is specified, please check the order of the fields.`,
    {
      extra: { ArgumentName: field, ArgumentValue: '' },
    },
  );

const badField = (field: string, why: string): S3Error =>
  new S3Error('InvalidArgument', `${field}: ${why}`, { extra: { ArgumentName: field } });

function secretOf(lookup: CredentialLookup, accessKey: string): string {
  const secret = lookup(accessKey);
  if (secret === undefined) throw new S3Error('InvalidAccessKeyId', undefined, { extra: { AWSAccessKeyId: accessKey } });
  return secret;
}

// The string to sign (the policy) is not echoed: a policy may name an SSE-C key in its conditions.
function mismatch(accessKey: string): S3Error {
  return new S3Error('SignatureDoesNotMatch', undefined, { extra: { AWSAccessKeyId: accessKey } });
}

/** The hex SigV4 signature of a POST policy. */
export function signPolicyV4(secretKey: string, date: string, region: string, policy: string): string {
  return createHmac('sha256', deriveSigningKey(secretKey, date, region, 's3'))
    .update(policy, 'utf8')
    .digest('hex');
}

/**
 * Verifies the form's signature over its `policy` field and returns the access key that signed it.
 * `fields` are the form's fields by lowercase name. Without a policy the form is anonymous: refused,
 * as this gateway has no publicly writable buckets.
 */
export function verifyPostSignature(fields: ReadonlyMap<string, string>, options: PostSignatureOptions): string {
  const policy = fields.get('policy');
  if (policy === undefined) {
    throw new S3Error(
      'AccessDenied',
      'Access Denied: a form upload needs a signed policy (this gateway has no publicly writable buckets).',
    );
  }
  if (fields.has('x-amz-security-token')) {
    throw new S3Error('InvalidToken', 'The provided token is malformed or otherwise invalid: this gateway issues no session tokens.');
  }
  if (fields.has('x-amz-algorithm') || fields.has('x-amz-credential') || fields.has('x-amz-signature')) {
    return verifyV4(fields, policy, options);
  }
  const accessKey = fields.get('awsaccesskeyid');
  if (accessKey === undefined) throw missing('AWSAccessKeyId');
  const signature = fields.get('signature');
  if (signature === undefined) throw missing('Signature');
  const secret = secretOf(options.lookup, accessKey);
  if (!constantTimeEqualHex(signV2(secret, policy), signature.trim())) throw mismatch(accessKey);
  return accessKey;
}

function verifyV4(fields: ReadonlyMap<string, string>, policy: string, options: PostSignatureOptions): string {
  for (const f of ['x-amz-algorithm', 'x-amz-credential', 'x-amz-date', 'x-amz-signature']) if (!fields.has(f)) throw missing(f);
  if (fields.get('x-amz-algorithm') !== ALGORITHM) throw badField('x-amz-algorithm', `only "${ALGORITHM}" is supported.`);
  const credential = parseCredential(fields.get('x-amz-credential')!, (m) => badField('x-amz-credential', m));
  const amzDate = fields.get('x-amz-date')!;
  if (parseAmzDate(amzDate) === undefined) throw badField('x-amz-date', 'must be in the ISO8601 basic format "yyyyMMddTHHmmssZ".');
  if (credential.date !== amzDate.slice(0, 8)) {
    throw badField('x-amz-credential', `the credential date "${credential.date}" is not the date of x-amz-date "${amzDate.slice(0, 8)}".`);
  }
  if (credential.region !== options.region)
    throw badField('x-amz-credential', `the region '${credential.region}' is wrong; expecting '${options.region}'.`);
  if (credential.service !== 's3')
    throw badField('x-amz-credential', `incorrect service "${credential.service}"; this endpoint belongs to "s3".`);
  if (credential.terminator !== 'aws4_request')
    throw badField('x-amz-credential', `incorrect terminal "${credential.terminator}"; expecting "aws4_request".`);
  const secret = secretOf(options.lookup, credential.accessKey);
  const expected = signPolicyV4(secret, credential.date, credential.region, policy);
  if (!constantTimeEqualHex(expected, fields.get('x-amz-signature')!.trim().toLowerCase())) throw mismatch(credential.accessKey);
  return credential.accessKey;
}

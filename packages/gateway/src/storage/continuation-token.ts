// ListObjectsV2 continuation tokens: opaque to clients, the base64url of the last key or common
// prefix returned. The listing resumes after it (skipping the whole prefix for a common prefix).
import { InvalidArgument } from './errors.js';
import { isWellFormed } from './validation.js';

export function encodeContinuationToken(lastEntry: string): string {
  return Buffer.from(lastEntry, 'utf8').toString('base64url');
}

export function decodeContinuationToken(token: string): string {
  const entry = Buffer.from(token, 'base64url').toString('utf8');
  // A token this store issued re-encodes to itself; anything else is not ours.
  if (token === '' || encodeContinuationToken(entry) !== token || !isWellFormed(entry)) {
    throw new InvalidArgument('The continuation token provided is incorrect');
  }
  return entry;
}

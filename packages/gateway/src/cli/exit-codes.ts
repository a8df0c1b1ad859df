// The exit status of every `kesgate` command, the same table as `kes` (README, "Exit status"): a script
// tells apart its own command line (usage), refused credentials (auth) and everything else.
import { AdminRequestError } from '../admin/client.js';

export const EXIT = {
  ok: 0,
  /** The gateway answered with an error or could not be reached, or a rotation left objects behind. */
  error: 1,
  /** `kesgate status`: kes is sealed. */
  sealed: 2,
  /** `kesgate key dependents`: something depends on the key. */
  dependents: 3,
  /** A bad command line: unknown command or flag, missing or invalid argument (EX_USAGE). */
  usage: 64,
  /** The gateway refused the credentials: unknown access key, wrong secret, or not allowed (EX_NOPERM). */
  auth: 77,
} as const;

const AUTH_CODES = new Set(['AccessDenied', 'InvalidAccessKeyId', 'SignatureDoesNotMatch']);

export function exitCodeOf(err: unknown): number {
  if (err instanceof AdminRequestError && (err.status === 401 || AUTH_CODES.has(err.code))) return EXIT.auth;
  return EXIT.error;
}

// The exit status of every `kes` command, so a script can tell apart what to fix: its own command line
// (usage), its credentials (auth), or the service. 2 and 3 keep the meanings `kes status` (as `vault status`)
// and `kesgate key dependents` give them; usage and auth use the BSD sysexits values, clear of both.
import { KesError, KesUnavailableError } from '@kesgate/kes-client';

export const EXIT = {
  ok: 0,
  /** kes answered with an error, could not be reached, or a local file or value was wrong. */
  error: 1,
  /** `kes status`: a node is sealed or not initialized. */
  sealed: 2,
  /** A bad command line: unknown command or flag, missing or invalid argument (EX_USAGE). */
  usage: 64,
  /** Refused credentials: the identity may not do this (401/403), or the TLS handshake failed on a certificate (EX_NOPERM). */
  auth: 77,
} as const;

/** The certificate checks of a TLS handshake, as Node and OpenSSL word them. */
const TLS_REFUSED =
  /self[- ]signed certificate|unable to (verify|get local issuer)|certificate (has expired|is not yet valid|signature failure)|does not match certificate's altnames|alert (bad certificate|certificate required|unknown ca|certificate unknown|access denied)/i;

/** The handshake failed on a certificate at every endpoint tried (the server's, or ours). */
export function isTlsRefusal(e: unknown): e is KesUnavailableError {
  return e instanceof KesUnavailableError && e.causes.length > 0 && e.causes.every((c) => TLS_REFUSED.test(c.error));
}

function isAuthFailure(e: unknown): boolean {
  if (e instanceof KesError) return e.status === 401 || (e.status === 403 && e.message.startsWith('not authorized'));
  return isTlsRefusal(e);
}

/** The exit status for an error a command ended with. */
export function exitCodeOf(e: unknown): number {
  return isAuthFailure(e) ? EXIT.auth : EXIT.error;
}

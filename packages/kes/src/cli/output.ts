// What the CLI prints: one JSON document with --json, human text otherwise; errors go to stderr
// as one message a user can act on (what failed, and what to do about it when we know).
// (Kept free of the server's modules: client commands load only what they use.)
import { KesError, KesUnavailableError } from '@kesgate/kes-client';
import { isTlsRefusal } from './exit-codes.js';

/** A failure the CLI itself detected; its message is shown as is. */
export class CliError extends Error {
  override readonly name = 'CliError';
}

/** Two columns, the first padded to its longest entry. */
export function table(rows: Array<[string, string]>, indent = ''): string[] {
  const width = Math.max(0, ...rows.map(([k]) => k.length));
  return rows.map(([k, v]) => `${indent}${k.padEnd(width)}  ${v}`);
}

/** The one-line message for any error a command can end with. */
export function describeError(e: unknown): string {
  if (e instanceof KesError) return `${e.message} (HTTP ${e.status} from ${e.endpoint})${hintFor(e)}`;
  if (isTlsRefusal(e)) {
    return `${e.message}\n  the TLS handshake failed on a certificate: pass the CA that signed the server certificate with --ca / KES_CA (or -k / --insecure to skip the check, for testing only)`;
  }
  if (e instanceof KesUnavailableError)
    return `${e.message}\n  is kes running there? Check --server / KES_SERVER, and that --ca / KES_CA names the CA of the server certificate`;
  // CliError, the server library's ConfigError and KesError: their messages are written for users.
  if (e instanceof Error) return e.message;
  return String(e);
}

function hintFor(e: KesError): string {
  if (e.status === 403 && e.message.startsWith('not authorized')) {
    return '\n  the client certificate (--cert / KES_CLIENT_CERT) is not allowed to do this: use the admin identity or extend its policy';
  }
  if (e.status === 503 && e.message === 'system is sealed') return '\n  unseal it first: `kes unseal` with the shares from `kes init`';
  if (e.status === 403 && e.message === 'key is sealed') return '\n  lift the per-key seal with `kes key unseal <name>`';
  return '';
}

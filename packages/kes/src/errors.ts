// Typed service errors: each carries the HTTP status and the exact message of docs/kes-api.md, so the
// HTTP layer renders them without knowing where they came from. Messages never contain secrets.

export class KesError extends Error {
  readonly status: number;
  constructor(status: number, message: string) {
    super(message);
    this.name = 'KesError';
    this.status = status;
  }
}

export const errors = {
  notAuthorized: () => new KesError(403, 'not authorized: insufficient permissions'),
  keyNotFound: () => new KesError(404, 'key does not exist'),
  keyExists: () => new KesError(400, 'key already exists'),
  notAuthentic: () => new KesError(400, 'decryption failed: ciphertext is not authentic'),
  systemSealed: () => new KesError(503, 'system is sealed'),
  keySealed: () => new KesError(403, 'key is sealed'),
  versionTooOld: () => new KesError(400, 'key version is too old'),
  /** A keystore failure; `op` is the verb, e.g. "create" → "failed to create key". */
  store: (op: string) => new KesError(502, `failed to ${op} key`),
  /** The key's rows do not authenticate under the root key: refused, never obeyed (details in the error log). */
  integrity: (op: string) =>
    new KesError(
      502,
      `failed to ${op} key: its stored state does not authenticate (the keystore was changed outside kes); see the kes error log`,
    ),
  /** The keystore's database does not answer: no key operation is served from memory alone. */
  storeUnavailable: () =>
    new KesError(503, 'keystore is not available: kes cannot reach its database and serves no key operations until it can'),
  invalidBody: () => new KesError(400, 'invalid request body'),
  badRequest: (message: string) => new KesError(400, message),
  notAcceptable: (message: string) => new KesError(406, message),
  notInitialized: () => new KesError(400, 'system is not initialized: run `kes init` first'),
  alreadyInitialized: () => new KesError(400, 'system is already initialized'),
} as const;

export function isKesError(e: unknown): e is KesError {
  return e instanceof KesError;
}

/**
 * A local operation (backup, export, import, writing certificates) failed in a way the operator can act
 * on: the message says what and, when known, what to do. The CLI prints it as it is.
 */
export class OperatorError extends Error {
  override readonly name = 'OperatorError';
}

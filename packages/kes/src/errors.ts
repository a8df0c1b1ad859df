// Typed service errors: each carries the HTTP status and the exact message of kes-api.md, so the
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
  /** A keystore (SQLite) failure; `op` is the verb, e.g. "create" → "failed to create key". */
  store: (op: string) => new KesError(502, `failed to ${op} key`),
  invalidBody: () => new KesError(400, 'invalid request body'),
  badRequest: (message: string) => new KesError(400, message),
  notAcceptable: (message: string) => new KesError(406, message),
  notInitialized: () => new KesError(400, 'system is not initialized: run `kes init` first'),
  alreadyInitialized: () => new KesError(400, 'system is already initialized'),
} as const;

export function isKesError(e: unknown): e is KesError {
  return e instanceof KesError;
}

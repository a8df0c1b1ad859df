/** An answer from kes that is an error: carries the HTTP status and kes's own message. */
export class KesError extends Error {
  override readonly name = 'KesError';
  constructor(
    readonly status: number,
    message: string,
    readonly endpoint: string,
  ) {
    super(message);
  }
}

/** No endpoint answered (connection refused, reset, TLS failure, timeout) after every retry. */
export class KesUnavailableError extends Error {
  override readonly name = 'KesUnavailableError';
  constructor(
    message: string,
    readonly causes: { endpoint: string; error: string }[],
  ) {
    super(message);
  }
}

const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ERR_SOCKET_CONNECTION_TIMEOUT',
  'UND_ERR_SOCKET',
  'KES_TIMEOUT',
]);

/** Only failures to reach a server are retried: an HTTP answer, even a 5xx, is final. */
export function isNetworkError(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  const code = (err as NodeJS.ErrnoException).code;
  if (code && NETWORK_CODES.has(code)) return true;
  // TLS handshake failures and sockets closed mid-answer have no errno code.
  return /socket hang up|TLS|SSL|certificate|closed/i.test(err.message) && !(err instanceof KesError);
}

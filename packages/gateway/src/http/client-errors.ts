import type http from 'node:http';
import type https from 'node:https';
import type { Duplex } from 'node:stream';
import { renderError, S3Error } from '../s3/errors.js';
import type { ConnectionProblems } from './connection-problems.js';
import { newRequestId } from '../s3/request-ids.js';

/** The header section limit of the HTTP parser (the S3 layer's own, smaller limit answers before it). */
export const MAX_HEADER_BYTES = 16 * 1024;

function overflowResponse(): string {
  const requestId = newRequestId();
  const body = renderError(
    new S3Error('RequestHeaderSectionTooLarge', `Your request header section exceeds ${MAX_HEADER_BYTES} bytes.`, {
      extra: { MaxSizeAllowed: '8192' },
    }),
    requestId,
  );
  return [
    'HTTP/1.1 400 Bad Request',
    'Content-Type: application/xml',
    `Content-Length: ${Buffer.byteLength(body)}`,
    `x-amz-request-id: ${requestId}`,
    'Connection: close',
    '',
    body,
  ].join('\r\n');
}

/**
 * Errors on a connection before a request could be parsed (malformed HTTP, a slow header section, a reset)
 * are counted (logged at debug, summarised periodically), then answered: a header section beyond the parser's limit gets the S3 error a
 * smaller oversized one gets (400 RequestHeaderSectionTooLarge, as AWS), other parse errors Node's bare 400;
 * a socket that can no longer be written is closed.
 */
export function answerClientErrors(server: http.Server, problems: ConnectionProblems, listener: string): void {
  server.on('clientError', (err: NodeJS.ErrnoException, socket: Duplex) => {
    problems.note(listener, socket, err.code ?? 'unknown', { reason: err.message });
    if (err.code === 'ECONNRESET' || !socket.writable) {
      socket.destroy();
      return;
    }
    socket.end(err.code === 'HPE_HEADER_OVERFLOW' ? overflowResponse() : 'HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n');
  });
}

/** TLS failures (a handshake, a client speaking plain HTTP to the TLS port) come as 'tlsClientError': counted. */
export function countTlsErrors(server: https.Server, problems: ConnectionProblems, listener: string): void {
  server.on('tlsClientError', (err: NodeJS.ErrnoException, socket: object) =>
    problems.note(listener, socket, err.code ?? 'tls-error', { reason: err.message }),
  );
}

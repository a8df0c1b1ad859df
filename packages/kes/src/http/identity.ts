// The client identity of a TLS connection: lower-case hex SHA-256 of the leaf certificate's DER
// SubjectPublicKeyInfo. Computed once per connection (with keep-alive the identity belongs to the
// connection). `verified` is OpenSSL's verdict on the chain against the configured CA.
import type { TLSSocket } from 'node:tls';
import { identityOf } from '../pki/pki.js';

export interface Peer {
  /** undefined when the client sent no certificate. */
  identity: string | undefined;
  verified: boolean;
}

const peers = new WeakMap<TLSSocket, Peer>();

export function peerOf(socket: TLSSocket): Peer {
  const known = peers.get(socket);
  if (known) return known;
  // getPeerCertificate() returns {} (not null) without a certificate: test `raw`.
  const cert = typeof socket.getPeerCertificate === 'function' ? socket.getPeerCertificate() : undefined;
  const peer: Peer = cert?.raw
    ? { identity: identityOf(cert.raw), verified: socket.authorized === true }
    : { identity: undefined, verified: false };
  peers.set(socket, peer);
  return peer;
}

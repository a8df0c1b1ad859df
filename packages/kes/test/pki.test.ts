// The development and test certificates (src/pki/pki.ts): ECDSA P-256 keys, a chain that verifies, the usages
// each kind of certificate needs, and a real mutual-TLS handshake with them, as kes and the gateway make it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, createPrivateKey, generateKeyPairSync, X509Certificate } from 'node:crypto';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import tls from 'node:tls';
import { createCA, identityOf, issueClientCert, issueServerCert, keyIdentifier, selfSignedClientCert } from '../src/pki/pki.js';

const SERVER_AUTH = '1.3.6.1.5.5.7.3.1';
const CLIENT_AUTH = '1.3.6.1.5.5.7.3.2';

const ca = createCA('pki test CA');
const server = issueServerCert(ca, ['localhost', '127.0.0.1']);
const issued = issueClientCert(ca, 'issued');
const selfSigned = selfSignedClientCert('self');

test('keys are ECDSA P-256; the CA signs what it issues, a self-signed certificate itself', () => {
  const caX = new X509Certificate(ca.cert);
  for (const pair of [ca, server, issued, selfSigned]) {
    const x = new X509Certificate(pair.cert);
    assert.equal(x.publicKey.asymmetricKeyType, 'ec');
    assert.equal(x.publicKey.asymmetricKeyDetails?.namedCurve, 'prime256v1');
    assert.ok(x.checkPrivateKey(createPrivateKey(pair.key)), 'the key belongs to the certificate');
  }
  assert.ok(caX.ca && caX.verify(caX.publicKey), 'a self-signed CA');
  for (const pair of [server, issued]) {
    const x = new X509Certificate(pair.cert);
    assert.ok(!x.ca && x.checkIssued(caX) && x.verify(caX.publicKey), 'issued and signed by the CA');
  }
  const self = new X509Certificate(selfSigned.cert);
  assert.ok(self.verify(self.publicKey) && !self.verify(caX.publicKey));
});

test('server and client usages, names and validity', () => {
  const s = new X509Certificate(server.cert);
  assert.deepEqual(s.keyUsage, [SERVER_AUTH]);
  assert.equal(s.subjectAltName, 'DNS:localhost, IP Address:127.0.0.1');
  assert.equal(s.subject, 'CN=localhost');
  assert.equal(s.issuer, 'CN=pki test CA');
  for (const pair of [issued, selfSigned]) assert.deepEqual(new X509Certificate(pair.cert).keyUsage, [CLIENT_AUTH]);
  const day = 24 * 3600 * 1000;
  const from = Date.parse(s.validFrom);
  assert.ok(from < Date.now() - day / 2, 'valid from a day back (clock skew between hosts)');
  assert.ok(Math.abs(Date.parse(s.validTo) - (from + 826 * day)) < 60_000, '825 days from now');
  assert.notEqual(new X509Certificate(issueServerCert(ca).cert).serialNumber, s.serialNumber, 'serials are random');
});

test("key identifiers are the SHA-1 of the public key's bits, also for a key whose bits read as DER", () => {
  // A P-256 SubjectPublicKeyInfo ends with its 65-byte point (0x04, X, Y). A point whose X starts with 0x3f reads
  // as a DER OCTET STRING of 63 bytes, which node-forge would decode unless told not to: 1 key in 256.
  const point = (spki: Buffer) => spki.subarray(spki.length - 65);
  let looksLikeDer: Buffer | undefined;
  for (let i = 0; i < 20_000 && !looksLikeDer; i++) {
    const spki = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ type: 'spki', format: 'der' });
    if (point(spki)[1] === 0x3f) looksLikeDer = spki;
  }
  assert.ok(looksLikeDer, 'one key in 256 has it; 20,000 tries find one');
  const plain = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ type: 'spki', format: 'der' });
  for (const spki of [looksLikeDer, plain]) {
    assert.equal(point(spki)[0], 0x04);
    assert.deepEqual(keyIdentifier(spki), createHash('sha1').update(point(spki)).digest());
  }
});

test('identities are the SHA-256 of the public key, one per key', () => {
  assert.match(identityOf(selfSigned.cert), /^[0-9a-f]{64}$/);
  assert.notEqual(identityOf(selfSigned.cert), identityOf(selfSignedClientCert('self').cert), 'a new key, a new identity');
});

test('a mutual-TLS handshake: the client verifies the server by the CA, the server verifies the issued client', async () => {
  const served: string[] = [];
  const srv = tls.createServer({ cert: server.cert, key: server.key, ca: ca.cert, requestCert: true, rejectUnauthorized: true }, (s) => {
    served.push(String(s.getPeerCertificate().subject.CN));
    s.end(String(s.getPeerCertificate().subject.CN));
  });
  srv.listen(0, '127.0.0.1');
  await once(srv, 'listening');
  try {
    const port = (srv.address() as AddressInfo).port;
    const socket = tls.connect({ port, host: '127.0.0.1', servername: 'localhost', ca: ca.cert, cert: issued.cert, key: issued.key });
    await once(socket, 'secureConnect');
    assert.ok(socket.authorized, String(socket.authorizationError));
    const chunks: Buffer[] = [];
    for await (const c of socket) chunks.push(c as Buffer);
    assert.equal(Buffer.concat(chunks).toString(), 'issued', 'the server saw the issued client certificate');
    // A self-signed client is refused when the server checks chains (under TLS 1.3 the client's side of the
    // handshake ends first; the server then refuses it and closes).
    const refused = once(srv, 'tlsClientError');
    const stranger = tls.connect({
      port,
      host: '127.0.0.1',
      servername: 'localhost',
      ca: ca.cert,
      cert: selfSigned.cert,
      key: selfSigned.key,
    });
    stranger.on('error', () => undefined).resume();
    await Promise.all([refused, once(stranger, 'close')]);
    assert.deepEqual(served, ['issued'], 'the self-signed client does not get through');
  } finally {
    srv.close();
  }
});

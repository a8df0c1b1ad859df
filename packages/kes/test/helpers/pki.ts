// Test certificates: one set per machine, cached in the temp directory (cachedInTempDir); every file reads it.
import { cachedInTempDir } from '../../src/pki/temp-cache.js';
import { createCA, identityOf, issueClientCert, issueServerCert, selfSignedClientCert, type CertKeyPair } from '../../src/pki/pki.js';

export interface Client extends CertKeyPair {
  identity: string;
}

export interface TestPki {
  ca: CertKeyPair;
  server: CertKeyPair;
  /** Self-signed: the admin identity. */
  admin: Client;
  /** Self-signed; in the "gateway" policy of the test servers. */
  gateway: Client;
  /** Self-signed; in the "restricted" policy (allow with deny exceptions). */
  restricted: Client;
  /** Self-signed; in no policy. */
  stranger: Client;
  /** Issued by `ca` (verifies under tls.auth: on). */
  issued: Client;
  /** Issued by a CA kes does not trust. */
  foreign: Client;
}

function client(pair: CertKeyPair): Client {
  return { ...pair, identity: identityOf(pair.cert) };
}

function generate(): TestPki {
  const ca = createCA('kes test CA');
  const other = createCA('some other CA');
  return {
    ca,
    server: issueServerCert(ca, ['localhost', '127.0.0.1']),
    admin: client(selfSignedClientCert('admin')),
    gateway: client(selfSignedClientCert('gateway')),
    restricted: client(selfSignedClientCert('restricted')),
    stranger: client(selfSignedClientCert('stranger')),
    issued: client(issueClientCert(ca, 'issued')),
    foreign: client(issueClientCert(other, 'foreign')),
  };
}

export function testPki(): TestPki {
  return cachedInTempDir('kesgate-kes-test-pki-v2.json', (c: TestPki) => c.foreign?.identity === identityOf(c.foreign.cert), generate);
}

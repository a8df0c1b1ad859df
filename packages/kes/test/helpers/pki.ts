// Test certificates. RSA key generation is the slow part of a suite, so one set is made per
// machine and cached (a JSON file in the temp directory, written atomically); every file reads it.
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
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

const CACHE = join(tmpdir(), 'kesgate-kes-test-pki-v1.json');
let memo: TestPki | undefined;

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
  if (memo) return memo;
  if (existsSync(CACHE)) {
    try {
      const cached = JSON.parse(readFileSync(CACHE, 'utf8')) as TestPki;
      if (cached.foreign?.identity === identityOf(cached.foreign.cert)) return (memo = cached);
    } catch {
      // unreadable or half-written by an older run: make a new set
    }
  }
  memo = generate();
  const tmp = `${CACHE}.${process.pid}.tmp`;
  writeFileSync(tmp, JSON.stringify(memo), { mode: 0o600 });
  renameSync(tmp, CACHE);
  return memo;
}

// Certificates for the gateway's end-to-end suites: a CA, kes's server certificate (also the gateway's HTTPS
// listener) and self-signed admin and gateway client identities. RSA key generation is the slow part of a
// suite, so one set is made per machine and cached in the temp directory (written atomically).
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createCA, identityOf, issueServerCert, selfSignedClientCert, type CertKeyPair } from '@kesgate/kes';

export interface Pki {
  ca: CertKeyPair;
  server: CertKeyPair;
  admin: CertKeyPair;
  gateway: CertKeyPair;
}

const PKI_CACHE = join(tmpdir(), 'kesgate-gateway-test-pki-v2.json');
let memo: Pki | undefined;

export function pki(): Pki {
  if (memo) return memo;
  if (existsSync(PKI_CACHE)) {
    try {
      const cached = JSON.parse(readFileSync(PKI_CACHE, 'utf8')) as Pki;
      if (cached.gateway?.cert && identityOf(cached.gateway.cert)) return (memo = cached);
    } catch {
      // half-written or from an older layout: make a new set
    }
  }
  const ca = createCA('kesgate gateway test CA');
  memo = { ca, server: issueServerCert(ca, ['localhost', '127.0.0.1']), admin: selfSignedClientCert('admin'), gateway: selfSignedClientCert('gateway') };
  const tmp = `${PKI_CACHE}.${process.pid}.tmp`;
  writeFileSync(tmp, JSON.stringify(memo), { mode: 0o600 });
  renameSync(tmp, PKI_CACHE);
  return memo;
}

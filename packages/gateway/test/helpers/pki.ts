// Certificates for the gateway's end-to-end suites: a CA, kes's server certificate (also the gateway's HTTPS
// listener) and self-signed admin and gateway client identities; one set per machine (cachedInTempDir).
import { cachedInTempDir, createCA, identityOf, issueServerCert, selfSignedClientCert, type CertKeyPair } from '@kesgate/kes';

export interface Pki {
  ca: CertKeyPair;
  server: CertKeyPair;
  admin: CertKeyPair;
  gateway: CertKeyPair;
}

export function pki(): Pki {
  return cachedInTempDir(
    'kesgate-gateway-test-pki-v3.json',
    (c: Pki) => Boolean(c.gateway?.cert && identityOf(c.gateway.cert)),
    () => {
      const ca = createCA('kesgate gateway test CA');
      return {
        ca,
        server: issueServerCert(ca, ['localhost', '127.0.0.1']),
        admin: selfSignedClientCert('admin'),
        gateway: selfSignedClientCert('gateway'),
      };
    },
  );
}

// Certificates for development and tests: a CA, server and client certificates it issues, and
// self-signed client certificates (kes checks identities, not chains, unless tls.auth is on).
// RSA-2048 keys come from Node's native generator; node-forge lays out the X.509 structure.
import { createHash, generateKeyPairSync, randomBytes, sign as signWithNode, X509Certificate } from 'node:crypto';
import { isIP } from 'node:net';
import forge from 'node-forge';

/** A PEM certificate and its PEM (PKCS#8) private key. */
export interface CertKeyPair {
  cert: string;
  key: string;
}

const DAY = 24 * 60 * 60 * 1000;

function newKeyPair(): { privatePem: string; publicKey: forge.pki.PublicKey } {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return {
    privatePem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    publicKey: forge.pki.publicKeyFromPem(publicKey.export({ type: 'spki', format: 'pem' }).toString()),
  };
}

function baseCert(publicKey: forge.pki.PublicKey, commonName: string, validDays: number): forge.pki.Certificate {
  const cert = forge.pki.createCertificate();
  cert.publicKey = publicKey;
  // A positive serial: clear the top bit of the first byte.
  const serial = randomBytes(16);
  serial[0] = serial[0]! & 0x7f;
  cert.serialNumber = serial.toString('hex');
  const now = Date.now();
  cert.validity.notBefore = new Date(now - DAY); // tolerate clock skew between hosts
  cert.validity.notAfter = new Date(now + validDays * DAY);
  cert.setSubject([{ name: 'commonName', value: commonName }]);
  return cert;
}

// node-forge builds the certificate; Node's OpenSSL signs it (forge's pure-JS RSA is ~10× slower).
// (getTBSCertificate exists in node-forge but is missing from its typings.)
const getTBSCertificate = (forge.pki as unknown as { getTBSCertificate(c: forge.pki.Certificate): forge.asn1.Asn1 }).getTBSCertificate;

function sign(c: forge.pki.Certificate, issuerKeyPem: string): string {
  const oid = forge.pki.oids['sha256WithRSAEncryption'];
  if (!oid) throw new Error('node-forge lacks the sha256WithRSAEncryption OID');
  c.signatureOid = oid;
  c.siginfo.algorithmOid = oid;
  c.tbsCertificate = getTBSCertificate(c);
  const tbs = Buffer.from(forge.asn1.toDer(c.tbsCertificate).getBytes(), 'binary');
  c.signature = signWithNode('sha256', tbs, issuerKeyPem).toString('binary');
  return forge.pki.certificateToPem(c);
}

function issuerOf(ca: CertKeyPair): forge.pki.CertificateField[] {
  return forge.pki.certificateFromPem(ca.cert).subject.attributes;
}

export function createCA(commonName = 'kesgate development CA', validDays = 3650): CertKeyPair {
  const { privatePem, publicKey } = newKeyPair();
  const cert = baseCert(publicKey, commonName, validDays);
  cert.setIssuer(cert.subject.attributes);
  cert.setExtensions([
    { name: 'basicConstraints', cA: true, critical: true },
    { name: 'keyUsage', keyCertSign: true, cRLSign: true, digitalSignature: true, critical: true },
    { name: 'subjectKeyIdentifier' },
  ]);
  return { cert: sign(cert, privatePem), key: privatePem };
}

/** A server certificate for `hosts` (DNS names and IP addresses), issued by `ca`. */
export function issueServerCert(ca: CertKeyPair, hosts: string[] = ['localhost', '127.0.0.1'], validDays = 825): CertKeyPair {
  const { privatePem, publicKey } = newKeyPair();
  const cert = baseCert(publicKey, hosts[0] ?? 'localhost', validDays);
  cert.setIssuer(issuerOf(ca));
  cert.setExtensions([
    { name: 'basicConstraints', cA: false },
    { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
    { name: 'extKeyUsage', serverAuth: true },
    { name: 'subjectAltName', altNames: hosts.map((h) => (isIP(h) ? { type: 7, ip: h } : { type: 2, value: h })) },
  ]);
  return { cert: sign(cert, ca.key), key: privatePem };
}

/** A client certificate named `name`, issued by `ca` (verifies when tls.auth is on). */
export function issueClientCert(ca: CertKeyPair, name: string, validDays = 825): CertKeyPair {
  const { privatePem, publicKey } = newKeyPair();
  const cert = baseCert(publicKey, name, validDays);
  cert.setIssuer(issuerOf(ca));
  cert.setExtensions([
    { name: 'basicConstraints', cA: false },
    { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
    { name: 'extKeyUsage', clientAuth: true },
  ]);
  return { cert: sign(cert, ca.key), key: privatePem };
}

/** A self-signed client certificate, as `kes identity new` makes. */
export function selfSignedClientCert(name: string, validDays = 825): CertKeyPair {
  const { privatePem, publicKey } = newKeyPair();
  const cert = baseCert(publicKey, name, validDays);
  cert.setIssuer(cert.subject.attributes);
  cert.setExtensions([
    { name: 'basicConstraints', cA: false },
    { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
    { name: 'extKeyUsage', clientAuth: true },
  ]);
  return { cert: sign(cert, privatePem), key: privatePem };
}

/** The kes identity of a certificate: lower-case hex SHA-256 of its DER SubjectPublicKeyInfo. */
export function identityOf(cert: string | Buffer | X509Certificate): string {
  const x509 = cert instanceof X509Certificate ? cert : new X509Certificate(cert);
  const spki = x509.publicKey.export({ type: 'spki', format: 'der' });
  return createHash('sha256').update(spki).digest('hex');
}

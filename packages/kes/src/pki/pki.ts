// Certificates for development and tests: a CA, server and client certificates it issues, and
// self-signed client certificates (kes checks identities, not chains, unless tls.auth is on).
// Keys are ECDSA P-256 from Node's generator: a key takes well under a millisecond where RSA-2048 took 50-300 ms
// (a test run made ~150 of them: ~20 s of CPU), and a TLS handshake signs with it in microseconds. Every client
// kesgate is used with speaks ECDSA: Node, Go (rclone, restic), Python (AWS CLI, boto3, s3cmd), Chromium.
// node-forge encodes the X.509 structure (RFC 5280 §4.1) and Node's OpenSSL signs it. forge's own certificate
// builder handles RSA keys only, so the TBSCertificate is assembled below from forge's ASN.1 parts, around the
// key's SubjectPublicKeyInfo as Node exports it.
import { createHash, generateKeyPairSync, randomBytes, sign as signWithNode, X509Certificate } from 'node:crypto';
import { isIP } from 'node:net';
import forge from 'node-forge';

/** A PEM certificate and its PEM (PKCS#8) private key. */
export interface CertKeyPair {
  cert: string;
  key: string;
}

type Asn1 = forge.asn1.Asn1;
const { asn1 } = forge;
const DAY = 24 * 60 * 60 * 1000;
/** ecdsa-with-SHA256; its AlgorithmIdentifier has no parameters (RFC 5758 §3.2). */
const ECDSA_WITH_SHA256 = '1.2.840.10045.4.3.2';
// Extensions as node-forge encodes them (in its typings only as setExtensions' `any[]`).
const extensionsToAsn1 = (forge.pki as unknown as { certificateExtensionsToAsn1(exts: unknown[]): Asn1 }).certificateExtensionsToAsn1;

const der = (node: Asn1): Buffer => Buffer.from(asn1.toDer(node).getBytes(), 'binary');
// BIT STRINGs as they are: by default forge decodes one whose bytes happen to parse as DER, which a P-256 public
// key's do when its X coordinate starts with 0x3f (1 key in 256: 0x04 then 63 more bytes reads as an OCTET STRING).
// (forge takes an options object there; its typings know only the older `strict` flag.)
const fromDerWithOptions = asn1.fromDer as unknown as (bytes: string, options: { decodeBitStrings: boolean }) => Asn1;
const fromDer = (bytes: Buffer): Asn1 => fromDerWithOptions(bytes.toString('binary'), { decodeBitStrings: false });
const sequence = (value: Asn1[]): Asn1 => asn1.create(asn1.Class.UNIVERSAL, asn1.Type.SEQUENCE, true, value);
const algorithm = (): Asn1 =>
  sequence([asn1.create(asn1.Class.UNIVERSAL, asn1.Type.OID, false, asn1.oidToDer(ECDSA_WITH_SHA256).getBytes())]);

/** RFC 5280 §4.1.2.5: UTCTime through 2049, GeneralizedTime after. */
function time(date: Date): Asn1 {
  return date.getUTCFullYear() < 2050
    ? asn1.create(asn1.Class.UNIVERSAL, asn1.Type.UTCTIME, false, asn1.dateToUtcTime(date))
    : asn1.create(asn1.Class.UNIVERSAL, asn1.Type.GENERALIZEDTIME, false, asn1.dateToGeneralizedTime(date));
}

function nameOf(commonName: string): Asn1 {
  const holder = forge.pki.createCertificate();
  holder.setSubject([{ name: 'commonName', value: commonName }]);
  return forge.pki.distinguishedNameToAsn1(holder.subject);
}

/** A key's identifier (RFC 5280 §4.2.1.2, method 1): SHA-1 of its DER SubjectPublicKeyInfo's subjectPublicKey bits. */
export function keyIdentifier(spki: Buffer): Buffer {
  const bits = ((fromDer(spki).value as Asn1[])[1]!.value as string).slice(1); // past the BIT STRING's unused-bits byte
  return createHash('sha1').update(Buffer.from(bits, 'binary')).digest();
}

/** What a certificate takes from its issuer's (PEM): the issuer's subject Name, byte for byte, and its key's identifier. */
function issuerOf(pem: string): { name: Asn1; keyId: Buffer } {
  const x509 = new X509Certificate(pem);
  const tbs = fromDer(x509.raw).value[0] as Asn1;
  return { name: (tbs.value as Asn1[])[5]!, keyId: keyIdentifier(x509.publicKey.export({ type: 'spki', format: 'der' })) };
}
const octets = (bytes: Buffer): Asn1 => asn1.create(asn1.Class.UNIVERSAL, asn1.Type.OCTETSTRING, false, bytes.toString('binary'));

/** Extensions as forge's setExtensions takes them (the key identifiers are added by certify()). */
type Extension = Record<string, unknown> & { name: string };

interface Contents {
  subject: string;
  /** The issuer's certificate and key; none when self-signed. */
  issuer?: CertKeyPair;
  validDays: number;
  extensions: Extension[];
}

/** A new key and its certificate with `contents`, signed by the issuer's key (or its own). */
function certify(contents: Contents): CertKeyPair {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const key = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  const spki = publicKey.export({ type: 'spki', format: 'der' });
  const subject = nameOf(contents.subject);
  const issuer = contents.issuer && issuerOf(contents.issuer.cert);
  // A positive serial: clear the top bit of the first byte.
  const serial = randomBytes(16);
  serial[0] = serial[0]! & 0x7f;
  const now = Date.now();
  const holder = forge.pki.createCertificate();
  holder.setExtensions([
    ...contents.extensions,
    // Every certificate names its key, and an issued one its issuer's key (RFC 5280 §4.2.1.1-2).
    { name: 'subjectKeyIdentifier', value: octets(keyIdentifier(spki)) },
    ...(issuer ? [{ name: 'authorityKeyIdentifier', keyIdentifier: issuer.keyId.toString('binary') }] : []),
  ]);
  const tbs = sequence([
    asn1.create(asn1.Class.CONTEXT_SPECIFIC, 0, true, [
      asn1.create(asn1.Class.UNIVERSAL, asn1.Type.INTEGER, false, asn1.integerToDer(2).getBytes()),
    ]), // v3
    asn1.create(asn1.Class.UNIVERSAL, asn1.Type.INTEGER, false, serial.toString('binary')),
    algorithm(),
    issuer?.name ?? subject,
    sequence([time(new Date(now - DAY)), time(new Date(now + contents.validDays * DAY))]), // a day back: clock skew between hosts
    subject,
    fromDer(spki),
    extensionsToAsn1(holder.extensions),
  ]);
  const signature = signWithNode('sha256', der(tbs), contents.issuer?.key ?? key); // DER ECDSA-Sig-Value
  const cert = sequence([
    tbs,
    algorithm(),
    asn1.create(asn1.Class.UNIVERSAL, asn1.Type.BITSTRING, false, `\u0000${signature.toString('binary')}`),
  ]);
  return { cert: new X509Certificate(der(cert)).toString(), key };
}

export function createCA(commonName = 'kesgate development CA', validDays = 3650): CertKeyPair {
  return certify({
    subject: commonName,
    validDays,
    extensions: [
      { name: 'basicConstraints', cA: true, critical: true },
      { name: 'keyUsage', keyCertSign: true, cRLSign: true, digitalSignature: true, critical: true },
    ],
  });
}

/** A server certificate for `hosts` (DNS names and IP addresses), issued by `ca`. */
export function issueServerCert(ca: CertKeyPair, hosts: string[] = ['localhost', '127.0.0.1'], validDays = 825): CertKeyPair {
  return certify({
    subject: hosts[0] ?? 'localhost',
    issuer: ca,
    validDays,
    extensions: [
      { name: 'basicConstraints', cA: false },
      // ECDSA keys sign (the handshake); they do not encipher keys, so no keyEncipherment (RFC 5480 §3).
      { name: 'keyUsage', digitalSignature: true, critical: true },
      { name: 'extKeyUsage', serverAuth: true },
      { name: 'subjectAltName', altNames: hosts.map((h) => (isIP(h) ? { type: 7, ip: h } : { type: 2, value: h })) },
    ],
  });
}

const CLIENT_EXTENSIONS: Extension[] = [
  { name: 'basicConstraints', cA: false },
  { name: 'keyUsage', digitalSignature: true, critical: true },
  { name: 'extKeyUsage', clientAuth: true },
];

/** A client certificate named `name`, issued by `ca` (verifies when tls.auth is on). */
export function issueClientCert(ca: CertKeyPair, name: string, validDays = 825): CertKeyPair {
  return certify({ subject: name, issuer: ca, validDays, extensions: CLIENT_EXTENSIONS });
}

/** A self-signed client certificate, as `kes identity new` makes. */
export function selfSignedClientCert(name: string, validDays = 825): CertKeyPair {
  return certify({ subject: name, validDays, extensions: CLIENT_EXTENSIONS });
}

/** The kes identity of a certificate: lower-case hex SHA-256 of its DER SubjectPublicKeyInfo. */
export function identityOf(cert: string | Buffer | X509Certificate): string {
  const x509 = cert instanceof X509Certificate ? cert : new X509Certificate(cert);
  const spki = x509.publicKey.export({ type: 'spki', format: 'der' });
  return createHash('sha256').update(spki).digest('hex');
}

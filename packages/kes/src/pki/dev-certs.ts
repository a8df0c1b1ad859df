// Development certificates in one directory: a CA, a server certificate for the given hosts,
// and client certificates for an admin and for the gateway (issued by the CA, so they also
// verify under `tls.auth: on`). The dev-start script and `kes dev-certs` both use this.
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { createCA, identityOf, issueClientCert, issueServerCert, type CertKeyPair } from './pki.js';
import { refuseExisting, writeNewFile } from '../files.js';

export interface DevCertFiles {
  ca: string;
  caKey: string;
  serverCert: string;
  serverKey: string;
  adminCert: string;
  adminKey: string;
  gatewayCert: string;
  gatewayKey: string;
}

export interface DevCerts {
  adminIdentity: string;
  gatewayIdentity: string;
  /** Absolute paths of the files written. */
  files: DevCertFiles;
}

const DEFAULT_DEV_HOSTS = ['localhost', '127.0.0.1'];

/** Writes ca.crt/ca.key, kes.crt/kes.key, admin.crt/admin.key, gateway.crt/gateway.key into `dir`; refuses to overwrite unless `force`. */
export function writeDevCerts(dir: string, hosts: string[] = DEFAULT_DEV_HOSTS, options: { force?: boolean } = {}): DevCerts {
  const at = (f: string) => join(resolve(dir), f);
  const files: DevCertFiles = {
    ca: at('ca.crt'),
    caKey: at('ca.key'),
    serverCert: at('kes.crt'),
    serverKey: at('kes.key'),
    adminCert: at('admin.crt'),
    adminKey: at('admin.key'),
    gatewayCert: at('gateway.crt'),
    gatewayKey: at('gateway.key'),
  };
  const force = options.force ?? false;
  refuseExisting(Object.values(files), force);
  mkdirSync(resolve(dir), { recursive: true, mode: 0o700 });

  const ca = createCA('kesgate development CA');
  const server = issueServerCert(ca, hosts);
  const admin = issueClientCert(ca, 'admin');
  const gateway = issueClientCert(ca, 'gateway');
  const written: Array<[CertKeyPair, string, string]> = [
    [ca, files.ca, files.caKey],
    [server, files.serverCert, files.serverKey],
    [admin, files.adminCert, files.adminKey],
    [gateway, files.gatewayCert, files.gatewayKey],
  ];
  for (const [pair, certPath, keyPath] of written) {
    writeNewFile(keyPath, pair.key, { mode: 0o600, force });
    writeNewFile(certPath, pair.cert, { mode: 0o644, force });
  }
  return { adminIdentity: identityOf(admin.cert), gatewayIdentity: identityOf(gateway.cert), files };
}

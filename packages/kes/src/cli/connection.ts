// How client commands reach kes: endpoint(s), client certificate and CA from flags or from
// KES_SERVER, KES_CLIENT_CERT, KES_CLIENT_KEY, KES_CA (flags win), checked before connecting so
// a wrong file is reported as such and not as a TLS failure.
import { createPrivateKey, createPublicKey, X509Certificate, type KeyObject } from 'node:crypto';
import type { Command } from 'commander';
import { KesClient } from '@kesgate/kes-client';
import { readFileFor } from '../files.js';
import { withHomeDefaults } from './home.js';
import type { Cli } from './io.js';
import { CliError } from './output.js';

const DEFAULT_SERVER = 'https://127.0.0.1:7373';

export interface ConnectionFlags {
  server?: string;
  cert?: string;
  key?: string;
  ca?: string;
  insecure?: boolean;
}

export interface Connection {
  endpoints: string[];
  cert: Buffer;
  key: Buffer;
  ca: Buffer | undefined;
  /** -k/--insecure: the server certificate is not verified. */
  insecure: boolean;
}

/** Adds --server, --cert, --key, --ca, -k/--insecure and --json to a client command. */
export function clientOptions(cmd: Command): Command {
  return cmd
    .option(
      '--server <url>',
      `kes endpoint(s), comma-separated or repeated (env KES_SERVER, default ${DEFAULT_SERVER})`,
      (v: string, prev?: string) => (prev ? `${prev},${v}` : v),
    )
    .option('--cert <file>', 'client certificate, PEM (env KES_CLIENT_CERT)')
    .option('--key <file>', 'private key of the client certificate, PEM (env KES_CLIENT_KEY)')
    .option('--ca <file>', 'CA certificate(s) that signed the server certificate, PEM (env KES_CA; default: system roots)')
    .option('-k, --insecure', 'do not verify the server certificate (as KES; for testing only: anyone on the path can pose as kes)')
    .option('--json', 'print JSON');
}

/** The connection from `flags`, else `given` (KES_*), else the home; relative file names are taken from `cwd`. */
export function resolveConnection(flags: ConnectionFlags, given: NodeJS.ProcessEnv, cwd: string): Connection {
  const env = withHomeDefaults(given, flags, cwd); // what flags and KES_* leave unset, from $KESGATE_HOME
  const server = flags.server ?? env.KES_SERVER ?? DEFAULT_SERVER;
  const endpoints = server
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .map((s) => (/^[a-z]+:\/\//i.test(s) ? s : `https://${s}`));
  for (const e of endpoints) {
    let url: URL;
    try {
      url = new URL(e);
    } catch {
      throw new CliError(`invalid kes server '${e}' (--server / KES_SERVER): expected a URL such as ${DEFAULT_SERVER}`);
    }
    if (url.protocol !== 'https:') throw new CliError(`invalid kes server '${e}' (--server / KES_SERVER): kes speaks HTTPS only`);
  }
  if (endpoints.length === 0) throw new CliError(`no kes server given: pass --server or set KES_SERVER (e.g. ${DEFAULT_SERVER})`);

  const certPath = flags.cert ?? env.KES_CLIENT_CERT;
  const keyPath = flags.key ?? env.KES_CLIENT_KEY;
  if (!certPath || !keyPath) {
    throw new CliError(
      'no client certificate: pass --cert and --key, or set KES_CLIENT_CERT and KES_CLIENT_KEY (make one with `kes identity new`)',
    );
  }
  const cert = readFileFor(certPath, 'client certificate', cwd);
  const key = readFileFor(keyPath, 'client private key', cwd);
  let x509: X509Certificate;
  try {
    x509 = new X509Certificate(cert);
  } catch {
    throw new CliError(`client certificate ${certPath} is not a PEM certificate`);
  }
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey(key);
  } catch {
    throw new CliError(`client private key ${keyPath} is not a PEM private key (an encrypted key is not supported)`);
  }
  // TLS would refuse the pair with an OpenSSL code ("key values mismatch"); say which files disagree.
  if (!samePublicKey(x509.publicKey, createPublicKey(privateKey))) {
    throw new CliError(
      `the client certificate ${certPath} does not match the private key ${keyPath}: they are not a pair (--cert / KES_CLIENT_CERT and --key / KES_CLIENT_KEY must name a certificate and its own key)`,
    );
  }
  const caPath = flags.ca ?? env.KES_CA;
  const ca = caPath ? readFileFor(caPath, 'CA certificate', cwd) : undefined;
  return { endpoints, cert, key, ca, insecure: flags.insecure === true };
}

function samePublicKey(a: KeyObject, b: KeyObject): boolean {
  return a.export({ type: 'spki', format: 'der' }).equals(b.export({ type: 'spki', format: 'der' }));
}

/** A client of the connection's endpoints; `options` as KesClient's (retries, timeout). */
export function clientFor(c: Connection, options: { endpoints?: string[]; retries?: number; timeoutMs?: number } = {}): KesClient {
  return new KesClient({
    endpoints: options.endpoints ?? c.endpoints,
    cert: c.cert,
    key: c.key,
    ca: c.ca,
    insecure: c.insecure,
    retries: options.retries ?? 1,
    ...(options.timeoutMs !== undefined ? { timeoutMs: options.timeoutMs } : {}),
  });
}

/** Runs `fn` with a client for the resolved connection and closes its sockets afterwards. */
export async function withClient<T>(cli: Cli, flags: ConnectionFlags, fn: (client: KesClient) => Promise<T>): Promise<T> {
  const client = clientFor(resolveConnection(flags, cli.env, cli.io.cwd));
  try {
    return await fn(client);
  } finally {
    client.close();
  }
}

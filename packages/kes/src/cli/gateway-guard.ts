// `kes key delete`'s guard: before a master key is erased, ask the kesgate gateway (when one is
// configured) what depends on it, and refuse while objects or unfinished uploads do. Deleting a key at kes
// is cryptographic erasure: every object sealed under it is gone for good.
//
// The question is one SigV4-signed GET to the gateway's admin API (GET /kesgate/admin/v1/keys/NAME/dependents,
// root credentials), made here rather than by running `kesgate key dependents`: the kes CLI is installed and
// run without the gateway package (kes's own image, another machine), and it must not import it either.
//
// The gateway is found as `kesgate` finds it: --gateway, else KESGATE_ADDRESS, else the gateway.yaml under
// $KESGATE_HOME (./.kesgate); credentials from KESGATE_ROOT_USER/KESGATE_ROOT_PASSWORD, else that home's
// credentials file. With no gateway configured there is nobody to ask, and the delete goes ahead as in KES.
import { createHash, createHmac } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import { join, resolve } from 'node:path';
import { parse as parseYAML } from 'yaml';
import { kesgateHome } from './home.js';
import { CliError } from './output.js';

export interface GuardFlags {
  gateway?: string;
  gatewayCa?: string;
}

interface GatewayTarget {
  endpoint: string;
  accessKey: string;
  secretKey: string;
  region: string;
  ca?: Buffer;
}

interface Dependents {
  key: string;
  objects: number;
  versions: number;
  uploads: number;
  buckets: { bucket: string; objects: number; versions: number; uploads: number }[];
}

const TIMEOUT_MS = 15_000;

/** `KEY=VALUE` lines of $KESGATE_HOME/credentials. */
function keyValues(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const raw of text.split(/\r?\n/)) {
    const m = /^(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(raw.trim());
    if (m) out[m[1]!] = m[2]!.replace(/^(['"])(.*)\1$/, '$2');
  }
  return out;
}

/** host:port or a URL → a base URL; a wildcard host is reached on loopback. */
function baseUrl(address: string): string {
  if (/^https?:\/\//i.test(address)) return address.replace(/\/+$/, '');
  const i = address.lastIndexOf(':');
  if (i < 0) throw new CliError(`the gateway address "${address}" is not HOST:PORT or a URL (--gateway / KESGATE_ADDRESS)`);
  let host = address.slice(0, i);
  if (host === '' || host === '0.0.0.0') host = '127.0.0.1';
  if (host === '[::]') host = '[::1]';
  return `http://${host}:${address.slice(i + 1)}`;
}

/** The gateway to ask, or undefined when none is configured. Throws when one is, but its credentials are missing. */
function resolveGateway(flags: GuardFlags, env: NodeJS.ProcessEnv, cwd: string): GatewayTarget | undefined {
  const home = kesgateHome(env, cwd);
  let address = flags.gateway ?? env.KESGATE_ADDRESS;
  let region = env.KESGATE_REGION;
  const config = home ? join(home, 'gateway.yaml') : undefined;
  if (config && existsSync(config)) {
    try {
      // ${ENV} references are left as text: only address and region are read, and used only without them.
      const c = (parseYAML(readFileSync(config, 'utf8')) ?? {}) as { address?: unknown; region?: unknown };
      if (address === undefined && typeof c.address === 'string' && !c.address.includes('${')) address = c.address;
      if (region === undefined && typeof c.region === 'string' && !c.region.includes('${')) region = c.region;
    } catch (e) {
      throw new CliError(`cannot read ${config} to find the gateway: ${(e as Error).message}`);
    }
  }
  if (address === undefined) return undefined;

  const saved = home && existsSync(join(home, 'credentials')) ? keyValues(readFileSync(join(home, 'credentials'), 'utf8')) : {};
  const fromEnv = env.KESGATE_ROOT_USER !== undefined || env.KESGATE_ROOT_PASSWORD !== undefined;
  const accessKey = fromEnv ? env.KESGATE_ROOT_USER : saved.KESGATE_ROOT_USER;
  const secretKey = fromEnv ? env.KESGATE_ROOT_PASSWORD : saved.KESGATE_ROOT_PASSWORD;
  const endpoint = baseUrl(address);
  if (!accessKey || !secretKey) {
    throw new CliError(
      `cannot ask the gateway at ${endpoint} what depends on the key: no root credentials (set KESGATE_ROOT_USER and KESGATE_ROOT_PASSWORD, or keep them in $KESGATE_HOME/credentials); not deleted. Pass --force to delete without asking`,
    );
  }
  const caFile = flags.gatewayCa
    ? resolve(cwd, flags.gatewayCa)
    : (flags.gatewayCa ?? (home && existsSync(join(home, 'certs', 'ca.crt')) ? join(home, 'certs', 'ca.crt') : undefined));
  return { endpoint, accessKey, secretKey, region: region ?? 'us-east-1', ...(caFile ? { ca: readFileSync(caFile) } : {}) };
}

const sha256 = (data: string): string => createHash('sha256').update(data).digest('hex');
const hmac = (key: Buffer | string, data: string): Buffer => createHmac('sha256', key).update(data).digest();

/** SigV4 headers for a GET without a query or body (all the guard sends). */
function signGet(url: URL, t: GatewayTarget, now = new Date()): Record<string, string> {
  const amzDate = now
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d{3}/, '');
  const date = amzDate.slice(0, 8);
  const payload = sha256('');
  const headers: Record<string, string> = { host: url.host, 'x-amz-content-sha256': payload, 'x-amz-date': amzDate };
  const signed = Object.keys(headers).sort();
  const canonical = ['GET', url.pathname, '', ...signed.map((h) => `${h}:${headers[h]}`), '', signed.join(';'), payload].join('\n');
  const scope = `${date}/${t.region}/s3/aws4_request`;
  const toSign = ['AWS4-HMAC-SHA256', amzDate, scope, sha256(canonical)].join('\n');
  let key = hmac(`AWS4${t.secretKey}`, date);
  for (const part of [t.region, 's3', 'aws4_request']) key = hmac(key, part);
  const signature = createHmac('sha256', key).update(toSign).digest('hex');
  return {
    ...headers,
    authorization: `AWS4-HMAC-SHA256 Credential=${t.accessKey}/${scope}, SignedHeaders=${signed.join(';')}, Signature=${signature}`,
  };
}

/** What depends on `name` according to the gateway; throws a CliError saying why it could not tell. */
async function askDependents(t: GatewayTarget, name: string): Promise<Dependents> {
  const url = new URL(`${t.endpoint}/kesgate/admin/v1/keys/${encodeURIComponent(name)}/dependents`);
  const lib = url.protocol === 'https:' ? https : http;
  const cannot = (why: string) =>
    new CliError(
      `cannot ask the gateway at ${t.endpoint} what depends on key ${name}: ${why}; not deleted. Pass --force to delete without asking`,
    );
  const reply = await new Promise<{ status: number; body: string }>((resolve, reject) => {
    const req = lib.request(url, { method: 'GET', headers: signGet(url, t), timeout: TIMEOUT_MS, ...(t.ca ? { ca: t.ca } : {}) }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`no answer within ${TIMEOUT_MS / 1000} s`)));
    req.on('error', (e) => reject(cannot((e as Error).message)));
    req.end();
  });
  if (reply.status !== 200) {
    let message = /<Message>([^<]*)<\/Message>/.exec(reply.body)?.[1];
    try {
      message ??= (JSON.parse(reply.body) as { message?: string }).message;
    } catch {
      message ??= reply.body.trim().slice(0, 200);
    }
    throw cannot(`it answered ${reply.status}${message ? `: ${message}` : ''}`);
  }
  return JSON.parse(reply.body) as Dependents;
}

const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? '' : 's'}`;

/**
 * Refuses (throws) while anything depends on `name`, naming the counts per bucket. Returns a note for the
 * operator: what was checked, or that no gateway is configured.
 */
export async function guardKeyDelete(name: string, flags: GuardFlags, env: NodeJS.ProcessEnv, cwd: string): Promise<string> {
  const target = resolveGateway(flags, env, cwd);
  if (!target)
    return `no kesgate gateway configured (--gateway, KESGATE_ADDRESS or $KESGATE_HOME/gateway.yaml): not checked for objects under key ${name}`;
  const d = await askDependents(target, name);
  if (d.versions === 0 && d.uploads === 0 && d.objects === 0) return `the gateway at ${target.endpoint} has no object under key ${name}`;
  const lines = [
    `not deleted: ${plural(d.objects, 'object')} (${plural(d.versions, 'version')}) and ${plural(d.uploads, 'unfinished upload')} in the gateway at ${target.endpoint} depend on key ${name}; deleting it erases them for good`,
    ...d.buckets.map(
      (b) => `  ${b.bucket}: ${plural(b.objects, 'object')} (${plural(b.versions, 'version')}), ${plural(b.uploads, 'upload')}`,
    ),
    `  rotate them first (kesgate rotate --bucket B --from-key ${name} --to-key NEW), or pass --force to erase them`,
  ];
  throw new CliError(lines.join('\n'));
}

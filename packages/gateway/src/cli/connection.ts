// How a client command finds the gateway, in the order an operator expects: flags, then the
// environment `npm start` exports, then the state `npm start` wrote under $KESGATE_HOME.
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parse as parseYAML } from 'yaml';
import type { AdminClientOptions } from '../admin/client.js';

export interface ConnectionFlags {
  endpoint?: string;
  accessKey?: string;
  secretKey?: string;
  region?: string;
  ca?: string;
}

export class ConnectionError extends Error {
  override readonly name = 'ConnectionError';
}

/** `KEY=VALUE` lines (`export` prefixes, quotes, comments and blank lines allowed). */
export function parseKeyValueFile(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim().replace(/^export\s+/, '');
    if (line === '' || line.startsWith('#')) continue;
    const eq = line.indexOf('=');
    if (eq <= 0) continue;
    let value = line.slice(eq + 1).trim();
    if (/^(['"]).*\1$/.test(value)) value = value.slice(1, -1);
    out[line.slice(0, eq).trim()] = value;
  }
  return out;
}

/** `host:port` (what KESGATE_ADDRESS and gateway.yaml hold) or a URL → a base URL; a wildcard host becomes loopback. */
export function endpointFromAddress(address: string): string {
  if (/^https?:\/\//.test(address)) return address.replace(/\/$/, '');
  const i = address.lastIndexOf(':');
  if (i < 0) throw new ConnectionError(`"${address}" is not an address: expected HOST:PORT, e.g. 127.0.0.1:9000`);
  let host = address.slice(0, i);
  if (host === '' || host === '0.0.0.0') host = '127.0.0.1';
  if (host === '[::]') host = '[::1]';
  return `http://${host}:${address.slice(i + 1)}`;
}

interface HomeState {
  address?: string;
  region?: string;
  accessKey?: string;
  secretKey?: string;
}

function readHome(home: string, env: NodeJS.ProcessEnv): HomeState {
  const state: HomeState = {};
  const credentials = join(home, 'credentials');
  if (existsSync(credentials)) {
    const kv = parseKeyValueFile(readFileSync(credentials, 'utf8'));
    if (kv.KESGATE_ROOT_USER) state.accessKey = kv.KESGATE_ROOT_USER;
    if (kv.KESGATE_ROOT_PASSWORD) state.secretKey = kv.KESGATE_ROOT_PASSWORD;
  }
  const config = join(home, 'gateway.yaml');
  if (existsSync(config)) {
    // Only address and region are read; ${ENV} references are filled from the environment (or the
    // credentials file) so the YAML parses, and a value still holding one is not used.
    const vars: Record<string, string | undefined> = {
      ...env,
      KESGATE_ROOT_USER: env.KESGATE_ROOT_USER ?? state.accessKey,
      KESGATE_ROOT_PASSWORD: env.KESGATE_ROOT_PASSWORD ?? state.secretKey,
    };
    const text = readFileSync(config, 'utf8').replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g, (_, name: string) =>
      JSON.stringify(vars[name] ?? '${' + name + '}'),
    );
    let c: { address?: unknown; region?: unknown };
    try {
      c = (parseYAML(text) ?? {}) as typeof c;
    } catch (err) {
      throw new ConnectionError(`cannot read ${config}: ${(err as Error).message}`);
    }
    if (typeof c.address === 'string' && !c.address.includes('${')) state.address = c.address;
    if (typeof c.region === 'string' && !c.region.includes('${')) state.region = c.region;
  }
  return state;
}

export function resolveConnection(flags: ConnectionFlags, env: NodeJS.ProcessEnv = process.env, cwd = process.cwd()): AdminClientOptions {
  const home = resolve(cwd, env.KESGATE_HOME || '.kesgate');
  const fromHome = readHome(home, env);
  const address = flags.endpoint ?? env.KESGATE_ADDRESS ?? fromHome.address;
  if (!address) {
    throw new ConnectionError(
      `cannot find the gateway: pass --endpoint http://HOST:PORT, set KESGATE_ADDRESS, or run where \`npm start\` keeps its state (${join(home, 'gateway.yaml')} is missing)`,
    );
  }
  const fromFlags = flags.accessKey !== undefined || flags.secretKey !== undefined;
  const fromEnv = env.KESGATE_ROOT_USER !== undefined || env.KESGATE_ROOT_PASSWORD !== undefined;
  const accessKey = fromFlags ? flags.accessKey : fromEnv ? env.KESGATE_ROOT_USER : fromHome.accessKey;
  const secretKey = fromFlags ? flags.secretKey : fromEnv ? env.KESGATE_ROOT_PASSWORD : fromHome.secretKey;
  if (!accessKey || !secretKey) {
    throw new ConnectionError(
      `no root credentials: pass --access-key and --secret-key, set KESGATE_ROOT_USER and KESGATE_ROOT_PASSWORD, or keep them in ${join(home, 'credentials')}`,
    );
  }
  return {
    endpoint: endpointFromAddress(address),
    accessKey,
    secretKey,
    region: flags.region ?? env.KESGATE_REGION ?? fromHome.region ?? 'us-east-1',
    ...(flags.ca ? { ca: readFileSync(flags.ca) } : {}),
  };
}

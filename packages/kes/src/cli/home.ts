// The development state `npm start` keeps under $KESGATE_HOME (./.kesgate when that exists): kes's config
// (its address), the CA and the admin's client certificate. Client commands run there need no exports:
// what flags and KES_* variables leave unset is taken from it. Flags and variables always win, and a
// certificate and its key are taken together or not at all (never one of ours with one of yours).
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parse as parseYAML } from 'yaml';

export interface HomeFlags {
  server?: string;
  cert?: string;
  key?: string;
  ca?: string;
}

/** The state directory in use: $KESGATE_HOME, else ./.kesgate if it exists; undefined when neither. */
export function kesgateHome(env: NodeJS.ProcessEnv, cwd: string): string | undefined {
  if (env.KESGATE_HOME) return resolve(cwd, env.KESGATE_HOME);
  const local = resolve(cwd, '.kesgate');
  return existsSync(join(local, 'kes.yaml')) ? local : undefined;
}

/** kes's address from the home's kes.yaml, as an https URL a client on this machine reaches (0.0.0.0 → 127.0.0.1). */
function serverOf(home: string): string | undefined {
  const file = join(home, 'kes.yaml');
  if (!existsSync(file)) return undefined;
  let address: unknown;
  try {
    address = (parseYAML(readFileSync(file, 'utf8')) as { address?: unknown } | null)?.address;
  } catch {
    return undefined;
  }
  if (typeof address !== 'string' || !/:\d+$/.test(address) || address.includes('${')) return undefined;
  const i = address.lastIndexOf(':');
  let host = address.slice(0, i);
  if (host === '' || host === '0.0.0.0') host = '127.0.0.1';
  if (host === '[::]' || host === '::') host = '[::1]';
  return `https://${host}:${address.slice(i + 1)}`;
}

/**
 * `env` with KES_SERVER, KES_CLIENT_CERT/KES_CLIENT_KEY (the admin's) and KES_CA filled in from the home,
 * where neither a flag nor a variable gives them. Unchanged when there is no home.
 */
export function withHomeDefaults(env: NodeJS.ProcessEnv, flags: HomeFlags, cwd: string): NodeJS.ProcessEnv {
  const home = kesgateHome(env, cwd);
  if (!home) return env;
  const out: NodeJS.ProcessEnv = { ...env };
  const file = (...p: string[]): string | undefined => (existsSync(join(home, ...p)) ? join(home, ...p) : undefined);
  if (!flags.server && !env.KES_SERVER) {
    const server = serverOf(home);
    if (server) out.KES_SERVER = server;
  }
  const cert = file('certs', 'admin.crt');
  const key = file('certs', 'admin.key');
  if (!flags.cert && !flags.key && !env.KES_CLIENT_CERT && !env.KES_CLIENT_KEY && cert && key) {
    out.KES_CLIENT_CERT = cert;
    out.KES_CLIENT_KEY = key;
  }
  const ca = file('certs', 'ca.crt');
  if (!flags.ca && !env.KES_CA && ca) out.KES_CA = ca;
  return out;
}

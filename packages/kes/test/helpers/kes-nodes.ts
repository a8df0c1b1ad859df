// Several real `kes server` processes over one keystore file (SQLite in WAL mode is safe across processes on
// one machine, and each node notices the others' commits through data_version), initialised once and each
// unsealed with the same shares: what the multi-node suites of kes-client, the kes CLI and the gateway use.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { KesClient, type KesClientOptions } from '@kesgate/kes-client';
import {
  freePort,
  kesJson,
  makeInstallation,
  startServer,
  startServerInProcess,
  stopChild,
  type InProcessServer,
  type Installation,
  type ServerProcess,
} from '../cli/helpers.js';

export interface KesNodesOptions {
  /** Nodes to run (default 2). */
  count?: number;
  shares?: number;
  threshold?: number;
  /** Master keys created once the first node is unsealed. */
  keys?: string[];
  /**
   * Run the nodes in this process instead of as `kes server` processes (for suites that only talk to them):
   * kill(i) then closes node i gracefully whatever the signal.
   */
  inProcess?: boolean;
}

export interface KesNode {
  config: string;
  url: string;
  port: number;
  process: ServerProcess | undefined;
  /** The node when it runs in this process (KesNodesOptions.inProcess). */
  inProcess?: InProcessServer | undefined;
}

export interface KesNodes {
  inst: Installation;
  nodes: KesNode[];
  urls: string[];
  shares: string[];
  threshold: number;
  /** KES_SERVER (every node, comma-separated), KES_CLIENT_CERT, KES_CLIENT_KEY and KES_CA for `who`. */
  env(who?: 'admin' | 'gateway'): Record<string, string>;
  /** PEM files of `who` and the CA. */
  pem(who?: 'admin' | 'gateway'): { cert: Buffer; key: Buffer; ca: Buffer };
  /** A client of the given nodes (default all) as `who`. */
  client(options?: { who?: 'admin' | 'gateway'; nodes?: number[] } & Partial<KesClientOptions>): KesClient;
  /** Starts node `i` (sealed) and waits until it answers. */
  start(i: number): Promise<void>;
  /** Submits the threshold of shares to node `i`. */
  unseal(i: number): Promise<void>;
  /** Kills node `i` with `signal` (default SIGKILL: no goodbye to anyone) and waits for it to go. */
  kill(i: number, signal?: NodeJS.Signals): Promise<void>;
  close(): Promise<void>;
}

export async function startKesNodes(options: KesNodesOptions = {}): Promise<KesNodes> {
  const count = options.count ?? 2;
  const inst = await makeInstallation();
  const ports = [Number(new URL(inst.url).port)];
  while (ports.length < count) ports.push(await freePort());
  const nodes: KesNode[] = ports.map((port, i) => {
    const config = join(inst.dir, `kes-${i}.yaml`);
    writeFileSync(
      config,
      [
        `address: 127.0.0.1:${port}`,
        `admin: { identity: ${inst.adminIdentity} }`,
        'tls: { key: certs/kes.key, cert: certs/kes.crt, ca: certs/ca.crt }',
        'policy:',
        '  gateway:',
        '    allow: [/v1/key/generate/*, /v1/key/decrypt/*, /v1/key/describe/*, /v1/status, /v1/sys/seal-status]',
        `    identities: [${inst.gatewayIdentity}]`,
        'keystore: { sqlite: { path: data/kes.db } }',
        `log: { error: on, audit: data/audit-${i}.log }`,
        '',
      ].join('\n'),
    );
    return { config, url: `https://127.0.0.1:${port}`, port, process: undefined };
  });
  const init = await kesJson<{ shares: string[]; threshold: number }>([
    'init',
    '--config',
    nodes[0]!.config,
    '--shares',
    String(options.shares ?? 1),
    '--threshold',
    String(options.threshold ?? 1),
  ]);
  const pem = (who: 'admin' | 'gateway' = 'admin') => ({
    cert: readFileSync(join(inst.certs, `${who}.crt`)),
    key: readFileSync(join(inst.certs, `${who}.key`)),
    ca: readFileSync(join(inst.certs, 'ca.crt')),
  });
  const client: KesNodes['client'] = ({ who, nodes: which, ...opts } = {}) =>
    new KesClient({ endpoints: (which ?? nodes.map((_, i) => i)).map((i) => nodes[i]!.url), ...pem(who), ...opts });

  const cluster: KesNodes = {
    inst,
    nodes,
    urls: nodes.map((n) => n.url),
    shares: init.shares,
    threshold: init.threshold,
    env: (who = 'admin') => ({ ...(who === 'admin' ? inst.adminEnv : inst.gatewayEnv), KES_SERVER: nodes.map((n) => n.url).join(',') }),
    pem,
    client,
    async start(i) {
      const n = nodes[i]!;
      const at = { ...inst, config: n.config, url: n.url };
      if (options.inProcess) n.inProcess = await startServerInProcess(at);
      else n.process = await startServer(at);
    },
    async unseal(i) {
      const c = client({ nodes: [i], retries: 0 });
      try {
        for (const share of init.shares.slice(0, init.threshold)) {
          if (!(await c.unseal(share)).sealed) return;
        }
        throw new Error(`kes node ${nodes[i]!.url} is still sealed after ${init.threshold} shares`);
      } finally {
        c.close();
      }
    },
    async kill(i, signal = 'SIGKILL') {
      const n = nodes[i]!;
      if (n.process) await stopChild(n.process.child, signal);
      await n.inProcess?.close();
      n.process = undefined;
      n.inProcess = undefined;
    },
    async close() {
      await Promise.all(nodes.map((_, i) => cluster.kill(i, 'SIGTERM')));
    },
  };
  try {
    for (let i = 0; i < count; i++) {
      await cluster.start(i);
      await cluster.unseal(i);
    }
    if (options.keys?.length) {
      const admin = client({ nodes: [0] });
      try {
        for (const k of options.keys) await admin.createKey(k);
      } finally {
        admin.close();
      }
    }
  } catch (err) {
    await cluster.close();
    throw err;
  }
  return cluster;
}

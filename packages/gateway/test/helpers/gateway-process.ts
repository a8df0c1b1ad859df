// A gateway in a child process (test/crash/fixtures/gateway-process.ts), for tests that kill it with
// SIGKILL: it runs from a config file and tells its port on stdout.
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { GatewayConfigInput } from '../../src/config/load.js';
import { ACCESS_KEY, DEFAULT_KEY, SECRET_KEY } from './stack.js';
import { nodeArgsFor } from '../../../../scripts/lib/node-entry.js';

const here = dirname(fileURLToPath(import.meta.url));
const repoRoot = join(here, '..', '..', '..', '..');
const fixture = join(here, '..', 'crash', 'fixtures', 'gateway-process.ts');

export interface GatewayProcess {
  proc: ChildProcess;
  url: string;
  /** Resolves with the signal (or exit code) the process ended with. */
  exited: Promise<string>;
  /** SIGKILL, and wait until it is gone. */
  kill(): Promise<string>;
}

/**
 * The config of a gateway process beside a test stack (startStack, startClusterStack): the stack's kes, reached
 * with the client identity and CA the stack gave its own gateways, the stack's credentials, any free port.
 */
export function gatewayProcessConfig(
  st: { dir: string; kes: { url: string } },
  backend: GatewayConfigInput['backend'],
  extra: Partial<GatewayConfigInput> = {},
): GatewayConfigInput {
  return {
    address: '127.0.0.1:0',
    credentials: { accessKey: ACCESS_KEY, secretKey: SECRET_KEY },
    backend,
    kms: {
      endpoints: [st.kes.url],
      cert: join(st.dir, 'gateway.crt'),
      key: join(st.dir, 'gateway.key'),
      ca: join(st.dir, 'ca.crt'),
      defaultKey: DEFAULT_KEY,
    },
    log: { level: 'silent' },
    ...extra,
  };
}

/** Writes `config` (JSON is YAML) to `file` and starts a gateway process on it. */
export async function startGatewayProcess(file: string, config: GatewayConfigInput): Promise<GatewayProcess> {
  writeFileSync(file, JSON.stringify(config), { mode: 0o600 });
  const proc = spawn(process.execPath, [...nodeArgsFor(fixture), file], { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] });
  const exited = new Promise<string>((resolve) => proc.once('exit', (code, signal) => resolve(signal ?? String(code))));
  let stderr = '';
  proc.stderr!.setEncoding('utf8').on('data', (c: string) => (stderr = (stderr + c).slice(-4000)));
  let stdout = '';
  const port = await new Promise<number>((resolve, reject) => {
    proc.stdout!.setEncoding('utf8').on('data', (c: string) => {
      stdout += c;
      const m = /^port (\d+)$/m.exec(stdout);
      if (m) resolve(Number(m[1]));
    });
    void exited.then((how) => reject(new Error(`the gateway process ended (${how}) before listening: ${stderr}`)));
  });
  return {
    proc,
    url: `http://127.0.0.1:${port}`,
    exited,
    async kill() {
      proc.kill('SIGKILL');
      return exited;
    },
  };
}

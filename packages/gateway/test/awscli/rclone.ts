// Runs Debian's rclone (/usr/bin/rclone) against a gateway: an S3 remote named "kg" configured only
// through the environment (RCLONE_CONFIG_KG_*), with a clean environment so no user config, proxy or
// AWS_* variable of the machine changes what rclone does.
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runTool } from './run-tool.js';

export const RCLONE = '/usr/bin/rclone';

export interface RcloneOptions {
  accessKey: string;
  secretKey: string;
  /** The gateway's HTTP URL. */
  endpoint: string;
  /** The gateway's HTTPS URL and the PEM of the CA that issued its certificate. */
  tlsEndpoint: string;
  caPem: string;
}

export interface Rclone {
  /** Runs `rclone <args>` against the remote "kg:"; resolves with stdout (latin1), rejects with a ToolError. */
  run(args: string[], options?: { tls?: boolean }): Promise<string>;
  /** A directory for local files, removed by close(). */
  dir: string;
  close(): void;
}

export function rcloneInstalled(): boolean {
  return existsSync(RCLONE);
}

export function rclone(o: RcloneOptions): Rclone {
  const dir = mkdtempSync(join(tmpdir(), 'kesgate-rclone-'));
  const ca = join(dir, 'ca.pem');
  writeFileSync(ca, o.caPem);
  const env = (tls: boolean): NodeJS.ProcessEnv => ({
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: dir,
    RCLONE_CONFIG: join(dir, 'rclone.conf'),
    RCLONE_CONFIG_KG_TYPE: 's3',
    RCLONE_CONFIG_KG_PROVIDER: 'Other',
    RCLONE_CONFIG_KG_ACCESS_KEY_ID: o.accessKey,
    RCLONE_CONFIG_KG_SECRET_ACCESS_KEY: o.secretKey,
    RCLONE_CONFIG_KG_REGION: 'us-east-1',
    RCLONE_CONFIG_KG_ENDPOINT: tls ? o.tlsEndpoint : o.endpoint,
  });
  return {
    dir,
    run(args, options = {}) {
      const full = [...args, ...(options.tls ? ['--ca-cert', ca] : [])];
      return runTool(RCLONE, full, { env: env(options.tls === true), cwd: dir, encoding: 'latin1' });
    },
    close() {
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

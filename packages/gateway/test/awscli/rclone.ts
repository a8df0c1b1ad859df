// Runs Debian's rclone (/usr/bin/rclone) against a gateway: an S3 remote named "kg" configured only
// through the environment (RCLONE_CONFIG_KG_*), with a clean environment so no user config, proxy or
// AWS_* variable of the machine changes what rclone does.
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

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

export class RcloneError extends Error {
  constructor(
    readonly args: string[],
    readonly code: number | string | undefined,
    readonly stderr: string,
  ) {
    super(`rclone ${args.join(' ')} failed (exit ${String(code)}): ${stderr.trim()}`);
  }
}

export interface Rclone {
  /** Runs `rclone <args>` against the remote "kg:"; resolves with stdout, rejects with the exit code and stderr. */
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
      return new Promise((resolve, reject) => {
        execFile(RCLONE, full, { env: env(options.tls === true), cwd: dir, timeout: 120_000, maxBuffer: 64 * 1024 * 1024, encoding: 'latin1' }, (err, stdout, stderr) => {
          if (err) reject(new RcloneError(args, (err as { code?: number | string }).code, stderr));
          else resolve(stdout);
        });
      });
    },
    close() {
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

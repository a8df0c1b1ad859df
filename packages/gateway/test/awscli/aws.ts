// Runs Debian's AWS CLI (/usr/bin/aws, by absolute path: another `aws` may come first on PATH) against
// a gateway, configured only through the environment so that no user config or credentials leak in.
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runTool, ToolError } from './run-tool.js';

export const AWS_CLI = '/usr/bin/aws';

export interface AwsCliOptions {
  accessKey: string;
  secretKey: string;
  /** The gateway's HTTP URL. */
  endpoint: string;
  /** The gateway's HTTPS URL and the PEM of the CA that issued its certificate. */
  tlsEndpoint: string;
  caPem: string;
}

export interface AwsCli {
  /** Runs `aws <args> --endpoint-url ...` and resolves with stdout; rejects with the exit code and stderr. */
  run(args: string[], options?: { tls?: boolean }): Promise<string>;
  /** Like run, for `aws s3api ...` (JSON output), parsed. */
  json<T = Record<string, unknown>>(args: string[], options?: { tls?: boolean }): Promise<T>;
  /** A directory for the CLI's files (sources, downloads, keys), removed by close(). */
  dir: string;
  close(): void;
}

/** A failed `aws` run: its exit code and stderr. */
export class AwsCliError extends ToolError {}

export function awsCliInstalled(): boolean {
  return existsSync(AWS_CLI);
}

export function awsCli(o: AwsCliOptions): AwsCli {
  const dir = mkdtempSync(join(tmpdir(), 'kesgate-awscli-'));
  const config = join(dir, 'config');
  const credentials = join(dir, 'credentials');
  const ca = join(dir, 'ca.pem');
  writeFileSync(config, '');
  writeFileSync(credentials, '');
  writeFileSync(ca, o.caPem);
  // A fresh environment, not process.env: AWS_PROFILE, AWS_CA_BUNDLE, AWS_ENDPOINT_URL... of the
  // machine must not change what the CLI does.
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: dir,
    LANG: 'C.UTF-8',
    AWS_ACCESS_KEY_ID: o.accessKey,
    AWS_SECRET_ACCESS_KEY: o.secretKey,
    AWS_DEFAULT_REGION: 'us-east-1',
    AWS_CONFIG_FILE: config,
    AWS_SHARED_CREDENTIALS_FILE: credentials,
    AWS_PAGER: '',
    AWS_EC2_METADATA_DISABLED: 'true',
  };

  const run = (args: string[], options: { tls?: boolean } = {}): Promise<string> => {
    const full = [...args, '--endpoint-url', options.tls ? o.tlsEndpoint : o.endpoint, ...(options.tls ? ['--ca-bundle', ca] : [])];
    return runTool(AWS_CLI, full, { env, cwd: dir }).catch((e: unknown) => {
      throw e instanceof ToolError ? new AwsCliError('aws', args, e.code, e.stderr) : e;
    });
  };
  return {
    dir,
    run,
    async json<T>(args: string[], options: { tls?: boolean } = {}): Promise<T> {
      return JSON.parse(await run([...args, '--output', 'json'], options)) as T;
    },
    close() {
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

// Runs a Debian client (aws, rclone, s3cmd, restic) as a process with an environment of the suite's own, so
// nothing of the machine's (AWS_* variables, proxies, user configs) changes what the client does.
import { execFile } from 'node:child_process';

export class ToolError extends Error {
  constructor(
    readonly tool: string,
    readonly args: string[],
    readonly code: number | string | undefined,
    readonly stderr: string,
  ) {
    super(`${tool} ${args.join(' ')} failed (exit ${String(code)}): ${stderr.trim()}`);
  }
}

export interface ToolOptions {
  env: NodeJS.ProcessEnv;
  cwd: string;
  timeoutMs?: number;
  /** 'latin1' keeps binary stdout byte for byte (Buffer.from(out, 'latin1')). Default utf8. */
  encoding?: BufferEncoding;
}

/** Resolves with stdout; rejects with a ToolError carrying the exit code and stderr. */
export function runTool(path: string, args: string[], o: ToolOptions): Promise<string> {
  const tool = path.split('/').pop()!;
  return new Promise((resolve, reject) => {
    execFile(
      path,
      args,
      { env: o.env, cwd: o.cwd, timeout: o.timeoutMs ?? 120_000, maxBuffer: 64 * 1024 * 1024, encoding: o.encoding ?? 'utf8' },
      (err, stdout, stderr) => {
        if (err) reject(new ToolError(tool, args, (err as { code?: number | string }).code, stderr));
        else resolve(stdout);
      },
    );
  });
}

/**
 * Runs one of this suite's Python scripts with Debian's python3 (and so Debian's boto3), given only the
 * environment named here, and resolves with the JSON it prints.
 */
export async function runPythonScript<T = Record<string, unknown>>(
  script: string,
  env: Record<string, string>,
  o: { cwd: string; timeoutMs?: number },
): Promise<T> {
  const out = await runTool('/usr/bin/python3', [script], {
    env: { PATH: '/usr/bin:/bin', LANG: 'C.UTF-8', ...env },
    cwd: o.cwd,
    timeoutMs: o.timeoutMs ?? 240_000,
  });
  return JSON.parse(out) as T;
}

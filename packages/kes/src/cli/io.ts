// What one run of the `kes` command reads and writes: its streams, environment, working directory and
// interrupts. The binary passes the real process's (processIO); tests run commands in-process with their
// own, so nothing one run sees or sets (env, cwd, exit status) reaches another.
import { resolve } from 'node:path';
import { Input } from './input.js';

export interface KesIO {
  /** Piped text, or a terminal's keystrokes (setRawMode is used only when isTTY). */
  stdin: NodeJS.ReadableStream & { setRawMode?(mode: boolean): unknown };
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
  env: NodeJS.ProcessEnv;
  /** Relative paths on the command line and ./.kesgate are taken from here. */
  cwd: string;
  /** True when a person is typing (stdin is a terminal): secrets are then prompted for without echo. */
  isTTY: boolean;
  /** Calls `stop` on Ctrl-C or a request to terminate (SIGINT, SIGTERM); returns what unregisters it. */
  onInterrupt(stop: (signal: NodeJS.Signals) => void): () => void;
}

/** The real process's streams, environment, working directory and signals. */
export function processIO(): KesIO {
  return {
    stdin: process.stdin,
    stdout: process.stdout,
    stderr: process.stderr,
    env: process.env,
    cwd: process.cwd(),
    isTTY: process.stdin.isTTY === true,
    onInterrupt(stop) {
      process.on('SIGINT', stop);
      process.on('SIGTERM', stop);
      return () => {
        process.off('SIGINT', stop);
        process.off('SIGTERM', stop);
      };
    },
  };
}

export interface Out {
  json: boolean;
}

/** One run of the command: its IO, and the exit status a command sets without failing (`kes status`: 2 when sealed). */
export class Cli {
  exitCode = 0;

  constructor(readonly io: KesIO) {}

  get env(): NodeJS.ProcessEnv {
    return this.io.env;
  }

  /** A path given on the command line, made absolute against the run's working directory. */
  path(p: string): string {
    return resolve(this.io.cwd, p);
  }

  /** Text to stdout, as is. */
  write(text: string): void {
    this.io.stdout.write(text);
  }

  /** Prints `value` as JSON with --json, else the lines `human` returns. */
  emit(out: Out, value: unknown, human: () => string | string[]): void {
    if (out.json) {
      this.write(`${JSON.stringify(value, null, 2)}\n`);
      return;
    }
    const text = human();
    const lines = Array.isArray(text) ? text : [text];
    if (lines.length) this.write(`${lines.join('\n')}\n`);
  }

  /** A note for the operator that must not mix with JSON on stdout. */
  note(message: string): void {
    this.io.stderr.write(`${message}\n`);
  }

  /** A reader of the run's stdin (close it when done). */
  input(): Input {
    return new Input(this.io.stdin, this.io.stderr, this.io.isTTY);
  }
}

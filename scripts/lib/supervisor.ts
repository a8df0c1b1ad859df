// The processes `npm start` and `npm run cluster` run in the foreground: their output prefixed with
// their name, Ctrl-C stops them all, and when one dies the others are stopped and the reason shown.
import { spawn, type ChildProcess } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';

interface Member {
  name: string;
  child: ChildProcess;
  stop: () => Promise<void>;
}

export class Supervisor {
  private readonly members: Member[] = [];
  private stopping = false;
  private readonly width: number;

  /** `names`: every process that will run, for the width of the output prefix. */
  constructor(names: string[]) {
    this.width = Math.max(7, ...names.map((n) => n.length));
    process.on('SIGINT', () => void this.stopAll(`\nstopping ${this.names()}…`, 0));
    process.on('SIGTERM', () => void this.stopAll('', 0));
  }

  private names(): string {
    const n = this.members.map((m) => m.name);
    return n.length <= 1 ? n.join('') : `${n.slice(0, -1).join(', ')} and ${n.at(-1)}`;
  }

  /** Runs `node <bundle> args…` in `cwd`, its output prefixed with `name`. */
  runNode(name: string, bundle: string, args: string[], options: { cwd: string; env: NodeJS.ProcessEnv }): ChildProcess {
    const child = spawn(process.execPath, [bundle, ...args], { cwd: options.cwd, env: options.env, stdio: ['ignore', 'pipe', 'pipe'] });
    for (const s of [child.stdout!, child.stderr!]) {
      let rest = '';
      s.on('data', (d: Buffer) => {
        rest += d.toString();
        const lines = rest.split('\n');
        rest = lines.pop()!;
        for (const l of lines) if (l.trim()) console.log(`${name.padEnd(this.width)}| ${l}`);
      });
    }
    this.adopt(name, child, async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    });
    return child;
  }

  /**
   * Watches a process started elsewhere (a database, an upstream): its death stops the rest too, and
   * `stop` is how it is stopped. Members are stopped in the reverse order they joined.
   */
  adopt(name: string, child: ChildProcess, stop: () => Promise<void>): void {
    this.members.push({ name, child, stop });
    child.once('exit', (code, signal) => {
      const others = this.members.filter((m) => m.child !== child).map((m) => m.name);
      void this.stopAll(
        `${name} stopped (${signal ?? `exit code ${code}`})${others.length ? `; stopping ${others.join(', ')} too` : ''}`,
        1,
      );
    });
  }

  /** Polls `probe` until it answers true; fails early if `child` exits. */
  async waitFor(what: string, probe: () => Promise<boolean>, child: ChildProcess, timeoutMs = 60_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (child.exitCode !== null || child.signalCode !== null)
        throw new Error(`${what} exited with code ${child.exitCode ?? child.signalCode} while starting`);
      if (await probe().catch(() => false)) return;
      await sleep(250);
    }
    throw new Error(`${what} did not answer within ${timeoutMs / 1000} s`);
  }

  /** Stops every member (last started first) and exits with `code`; the first cause wins. */
  async stopAll(reason: string, code: number): Promise<never> {
    // Members exiting because we stopped them are not a second reason.
    if (this.stopping) return new Promise<never>(() => {});
    this.stopping = true;
    if (reason) console.error(reason);
    for (const m of [...this.members].reverse()) await m.stop().catch(() => {});
    process.exit(code);
  }
}

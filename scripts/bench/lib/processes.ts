// Child processes for benchmarks: servers run apart from the load generator so that client and
// server never share an event loop, and so their memory and I/O can be read from /proc.
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');

/** A port below the ephemeral range that nothing listens on (scripts/lib/free-port.ts says why). */
export { freePort } from '../../lib/free-port.js';

export interface SpawnOptions {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /** stdout and stderr go to this file (kept for a post-mortem) instead of the terminal. */
  logFile: string;
  /** Options for node itself, e.g. --cpu-prof. */
  nodeArgs?: string[];
}

/** `node <script> args…` (a bin that loads its TypeScript itself), output to a log file. */
export function spawnNode(script: string, args: string[], options: SpawnOptions): ChildProcess {
  const fd = openSync(options.logFile, 'a');
  try {
    return spawn(process.execPath, [...(options.nodeArgs ?? []), script, ...args], {
      cwd: options.cwd ?? REPO_ROOT,
      env: options.env ?? process.env,
      stdio: ['ignore', fd, fd],
    });
  } finally {
    closeSync(fd);
  }
}

/**
 * `node <script> args…` whose first stdout line is a JSON object (the ports it listens on); stderr
 * is passed through so a failing baseline shows why.
 */
export async function spawnJsonServer<T>(script: string, args: string[], timeoutMs = 60_000): Promise<{ child: ChildProcess; info: T }> {
  const child = spawn(process.execPath, ['--import', 'tsx', script, ...args], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
  const lines = createInterface({ input: child.stdout! });
  const info = await new Promise<T>((res, rej) => {
    const timer = setTimeout(() => rej(new Error(`${script} printed nothing within ${timeoutMs / 1000} s`)), timeoutMs);
    child.once('exit', (code) => rej(new Error(`${script} exited with code ${code} before it was ready`)));
    lines.once('line', (line) => {
      clearTimeout(timer);
      try {
        res(JSON.parse(line) as T);
      } catch {
        rej(new Error(`${script} printed ${JSON.stringify(line)} instead of its ports as JSON`));
      }
    });
  });
  lines.on('line', () => {}); // drain the rest
  return { child, info };
}

/** Polls `probe` until it answers true; fails early if the child exits. */
export async function waitUntil(
  what: string,
  probe: () => Promise<boolean>,
  child: ChildProcess,
  logFile: string,
  timeoutMs = 90_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`${what} exited (${child.signalCode ?? `code ${child.exitCode}`}) while starting; see ${logFile}`);
    }
    if (await probe().catch(() => false)) return;
    await sleep(200);
  }
  throw new Error(`${what} did not answer within ${timeoutMs / 1000} s; see ${logFile}`);
}

/** SIGTERM, then SIGKILL if it has not exited after `graceMs`. */
export async function stopChild(child: ChildProcess, graceMs = 10_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
}

interface ProcMemory {
  /** Current resident set, bytes. */
  rss: number;
  /** Peak resident set since the process started (VmHWM), bytes. */
  hwm: number;
}

/** Linux only: VmRSS and VmHWM of a process from /proc/<pid>/status. */
export function procMemory(pid: number): ProcMemory {
  const text = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kib = (name: string): number => {
    const m = new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(text);
    if (!m) throw new Error(`/proc/${pid}/status has no ${name} line`);
    return Number(m[1]) * 1024;
  };
  return { rss: kib('VmRSS'), hwm: kib('VmHWM') };
}

/**
 * Linux only: bytes the process has passed through read(2)-like calls (`rchar`, files and sockets
 * alike, page-cache hits included) from /proc/<pid>/io.
 */
export function procReadChars(pid: number): number {
  const m = /^rchar:\s+(\d+)$/m.exec(readFileSync(`/proc/${pid}/io`, 'utf8'));
  if (!m) throw new Error(`/proc/${pid}/io has no rchar line`);
  return Number(m[1]);
}

export function benchScript(name: string): string {
  return join(REPO_ROOT, 'scripts/bench/lib', name);
}

/** Linux only: user + system CPU seconds the process has used (/proc/<pid>/stat, all threads). */
export function procCpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name (which may hold spaces) start after the last ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(fields[11]) + Number(fields[12]); // utime, stime (fields 14 and 15 of the line)
  return ticks / CLOCK_TICKS;
}

/** Linux only: CPU seconds of the process's main thread alone — its event loop (/proc/<pid>/task/<pid>/schedstat, ns). */
export function procMainThreadCpuSeconds(pid: number): number {
  return Number(readFileSync(`/proc/${pid}/task/${pid}/schedstat`, 'utf8').split(' ')[0]) / 1e9;
}

/** Linux only: write system calls (write, writev, pwrite…) the process has made (/proc/<pid>/io syscw). */
export function procWriteCalls(pid: number): number {
  const m = /^syscw:\s+(\d+)$/m.exec(readFileSync(`/proc/${pid}/io`, 'utf8'));
  if (!m) throw new Error(`/proc/${pid}/io has no syscw line`);
  return Number(m[1]);
}

/**
 * Linux only: CPU seconds every core of the machine has been busy (not idle, not waiting on I/O) since boot, and
 * the number of cores (/proc/stat): over a transfer, busy / (cores × wall) says whether it was bound by CPU.
 */
export function machineBusySeconds(): { busy: number; cores: number } {
  const lines = readFileSync('/proc/stat', 'utf8').split('\n');
  const [, ...ticks] = lines[0]!.trim().split(/\s+/).map(Number);
  const [user, nice, system, , , irq, softirq, steal] = ticks as number[];
  const cores = lines.filter((l) => /^cpu\d+ /.test(l)).length;
  return { busy: (user! + nice! + system! + irq! + softirq! + steal!) / CLOCK_TICKS, cores };
}

/** USER_HZ: 100 on every Linux this runs on (getconf CLK_TCK). */
const CLOCK_TICKS = 100;

/** Linux only: the pids of a process's descendants right now (/proc/<pid>/task/<tid>/children). */
function descendantPids(pid: number): number[] {
  let children: number[];
  try {
    children = readdirSync(`/proc/${pid}/task`).flatMap((tid) =>
      readFileSync(`/proc/${pid}/task/${tid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number),
    );
  } catch {
    return []; // exited meanwhile
  }
  return children.flatMap((c) => [c, ...descendantPids(c)]);
}

/**
 * Linux only: CPU seconds used so far by a process and its live descendants (e.g. PostgreSQL's postmaster
 * and one backend per connection). A descendant that exits between two readings drops out of the second.
 */
export function treeCpuSeconds(pid: number): number {
  return [pid, ...descendantPids(pid)].reduce((n, p) => {
    try {
      return n + procCpuSeconds(p);
    } catch {
      return n; // exited meanwhile
    }
  }, 0);
}

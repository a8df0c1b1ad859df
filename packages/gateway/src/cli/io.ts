// What one run of the `kesgate` command writes to and reads from: its output streams, environment, working
// directory and interrupts. The binary passes the real process's (processIO); tests run the client commands
// in-process with their own, as the kes CLI's do (packages/kes/src/cli/io.ts).

export interface KesgateIO {
  stdout: NodeJS.WritableStream;
  /** Progress and notes; a progress bar only when it is a terminal (isTTY). */
  stderr: NodeJS.WritableStream & { isTTY?: boolean };
  env: NodeJS.ProcessEnv;
  /** Where $KESGATE_HOME's default (./.kesgate) is looked for. */
  cwd: string;
  /**
   * Calls `stop` on Ctrl-C (SIGINT) while a command follows a job; the process then ends with status 130.
   * Returns what unregisters it.
   */
  onInterrupt(stop: () => void): () => void;
}

/** The real process's streams, environment, working directory and SIGINT. */
export function processIO(): KesgateIO {
  return {
    stdout: process.stdout,
    stderr: process.stderr,
    env: process.env,
    cwd: process.cwd(),
    onInterrupt(stop) {
      const interrupted = (): void => {
        stop();
        process.exit(130);
      };
      process.once('SIGINT', interrupted);
      return () => process.off('SIGINT', interrupted);
    },
  };
}

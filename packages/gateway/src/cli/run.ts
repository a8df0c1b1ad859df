// One run of the `kesgate` command: parses `argv` (the arguments after `kesgate`), runs the command with `io`, and
// returns the exit status. main.ts runs it with the real process; tests run the client commands in-process.
import { Command, CommanderError, InvalidArgumentError } from 'commander';
import { AdminClient, AdminRequestError } from '../admin/client.js';
import { VERSION } from '../version.js';
import { ConnectionError, resolveConnection, type ConnectionFlags } from './connection.js';
import { EXIT, exitCodeOf } from './exit-codes.js';
import type { KesgateIO } from './io.js';
import { runKeyDependents } from './key-dependents.js';
import { runRotate } from './rotate.js';
import { runRotateCancel, runRotateList } from './rotate-jobs.js';
import { runStatus } from './status.js';

function withConnection(cmd: Command): Command {
  return cmd
    .option('--endpoint <url>', 'the gateway, e.g. http://127.0.0.1:9000 (default: $KESGATE_ADDRESS, else $KESGATE_HOME/gateway.yaml)')
    .option('--access-key <key>', 'root access key (default: $KESGATE_ROOT_USER, else $KESGATE_HOME/credentials)')
    .option('--secret-key <secret>', 'root secret key (default: $KESGATE_ROOT_PASSWORD, else $KESGATE_HOME/credentials)')
    .option('--region <region>', 'SigV4 region (default: $KESGATE_REGION, else gateway.yaml, else us-east-1)')
    .option('--ca <file>', 'PEM CA certificate for an https:// endpoint');
}

function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('expected a positive whole number');
  return n;
}

export async function runKesgate(argv: readonly string[], io: KesgateIO): Promise<number> {
  let exitCode: number = EXIT.ok;
  const client = (flags: ConnectionFlags): AdminClient => new AdminClient(resolveConnection(flags, io.env, io.cwd));

  /** Client errors end the run with a message meant for the operator, not a stack trace. */
  async function guarded(fn: () => Promise<number | void>): Promise<void> {
    try {
      const code = await fn();
      if (typeof code === 'number') exitCode = code;
    } catch (err) {
      if (err instanceof AdminRequestError)
        io.stderr.write(`kesgate: the gateway refused: ${err.code} (HTTP ${err.status}): ${err.message}\n`);
      else if (err instanceof ConnectionError) io.stderr.write(`kesgate: ${err.message}\n`);
      else io.stderr.write(`kesgate: ${(err as Error).message}\n`);
      exitCode = exitCodeOf(err);
    }
  }

  const program = new Command('kesgate')
    // Commander's own output (help, version, usage errors) to this run's streams; subcommands inherit it.
    .configureOutput({ writeOut: (text) => io.stdout.write(text), writeErr: (text) => io.stderr.write(text) })
    .description('kesgate: an S3 gateway that encrypts every object with keys from kes')
    .version(VERSION, '-v, --version')
    // Options after a subcommand are the subcommand's (`rotate list --json`), not its parent's (inherited).
    .enablePositionalOptions()
    .addHelpText(
      'after',
      `
Exit status: 0 success, 1 an error (the gateway refused or was unreachable; a rotation left objects behind),
2 kes sealed (status), 3 something depends on the key (key dependents), 64 a usage error, 77 refused credentials.`,
    );

  program
    .command('server')
    .description('run the gateway (S3 API, admin API, rotation jobs) until SIGTERM/SIGINT')
    .requiredOption('--config <file>', 'gateway config (YAML, ${ENV} substituted)')
    .action(async (opts: { config: string }) => {
      // Loaded only here: the client commands start faster without the server's dependencies.
      const { runServer } = await import('./server.js');
      await runServer(opts.config);
    });

  const rotate = withConnection(
    program
      .command('rotate')
      .description(
        're-wrap the object keys of a bucket under a new data key (metadata only), following the job; `rotate list` and `rotate cancel ID` for jobs',
      )
      // Checked in the action: a required option here would be required by `rotate list` and `rotate cancel` too.
      .option('--bucket <name>', 'the bucket (required to start a rotation)')
      .option('--prefix <prefix>', 'only keys starting with this')
      .option('--to-key <name>', 'target master key (default: the gateway default key, latest version)')
      .option('--from-key <name>', 'only objects currently under this master key')
      .option('--dry-run', 'count what would be rotated; change nothing', false)
      .option('--json', 'print the final job as JSON (no progress)', false)
      .option('--poll <ms>', 'milliseconds between progress updates', positiveInt, 500)
      .option(
        '--progress-every <seconds>',
        'seconds between progress lines when stderr is not a terminal (a bar otherwise)',
        positiveInt,
        5,
      ),
  ).action(
    async (
      opts: ConnectionFlags & {
        bucket?: string;
        prefix?: string;
        toKey?: string;
        fromKey?: string;
        dryRun: boolean;
        json: boolean;
        poll: number;
        progressEvery: number;
      },
    ) => {
      const bucket = opts.bucket;
      if (bucket === undefined)
        return rotate.error(
          "error: required option '--bucket <name>' not specified (or run `kesgate rotate list` / `kesgate rotate cancel ID`)",
        );
      await guarded(() =>
        runRotate(io, client(opts), {
          bucket,
          ...(opts.prefix !== undefined ? { prefix: opts.prefix } : {}),
          ...(opts.toKey !== undefined ? { toKey: opts.toKey } : {}),
          ...(opts.fromKey !== undefined ? { fromKey: opts.fromKey } : {}),
          dryRun: opts.dryRun,
          json: opts.json,
          poll: opts.poll,
          progressEvery: opts.progressEvery,
        }),
      );
    },
  );

  withConnection(rotate.command('list').description('the rotation jobs, newest first (100)').option('--json', 'print JSON', false)).action(
    async (opts: ConnectionFlags & { json: boolean }) => {
      await guarded(() => runRotateList(io, client(opts), opts.json));
    },
  );

  withConnection(
    rotate
      .command('cancel')
      .description(
        'cancel a running rotation job: the objects in hand finish, the others keep their key (exit 0 once cancelled or requested)',
      )
      .argument('<id>', 'the job id (`kesgate rotate list`)')
      .option('--json', 'print the job as JSON', false),
  ).action(async (id: string, opts: ConnectionFlags & { json: boolean }) => {
    await guarded(() => runRotateCancel(io, client(opts), id, opts.json));
  });

  withConnection(
    program
      .command('status')
      .description("the gateway's backend, kes endpoints, default key and rotation jobs")
      .option('--json', 'print JSON', false),
  ).action(async (opts: ConnectionFlags & { json: boolean }) => {
    await guarded(() => runStatus(io, client(opts), opts.json));
  });

  const key = program.command('key').description('master keys as the gateway sees them');
  withConnection(
    key
      .command('dependents')
      .description('how many objects and uploads depend on a master key (exit 0: none, 3: some)')
      .argument('<name>', 'the kes key name')
      .option('--json', 'print JSON', false),
  ).action(async (name: string, opts: ConnectionFlags & { json: boolean }) => {
    await guarded(() => runKeyDependents(io, client(opts), name, opts.json));
  });

  // Usage errors throw instead of exiting, so they get their own exit status (commander has printed them).
  const throwUsage = (cmd: Command): void => {
    cmd.exitOverride();
    cmd.commands.forEach(throwUsage);
  };
  throwUsage(program);
  try {
    await program.parseAsync([...argv], { from: 'user' });
  } catch (err) {
    if (!(err instanceof CommanderError)) throw err;
    return err.exitCode === 0 ? EXIT.ok : EXIT.usage;
  }
  return exitCode;
}

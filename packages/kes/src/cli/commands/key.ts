// `kes key ...`: master keys on a running kes, one subcommand per API route.
import { Command, Option } from 'commander';
import type { KeyDescription, KesCipher } from '@kesgate/kes-client';
import { clientOptions, withClient, type ConnectionFlags } from '../connection.js';
import { readFileFor } from '../../files.js';
import { guardKeyDelete, type GuardFlags } from '../gateway-guard.js';
import type { Cli } from '../io.js';
import { CliError, table } from '../output.js';
import { base64Option, decodeBase64, keyVersion } from '../parse.js';

type Flags = ConnectionFlags & { json?: boolean };
const KEY_SIZE = 32;

export function keyCommand(cli: Cli): Command {
  const key = new Command('key').description('create, inspect, use, rotate, seal and delete master keys');
  const sub = (spec: string, description: string) => clientOptions(key.command(spec).description(description));

  sub('create <name...>', 'create master keys (each a random AES-256 key and HMAC key, version v1), in the order given').action(
    (names: string[], flags: Flags) =>
      withClient(cli, flags, async (c) => {
        const created: string[] = [];
        for (const name of names) {
          try {
            await c.createKey(name);
          } catch (e) {
            // As KES: stop at the first failure; say what was done before it.
            if (created.length)
              cli.note(
                `created ${created.join(', ')}; stopped at ${name}${names.length > created.length + 1 ? ` (not tried: ${names.slice(created.length + 1).join(', ')})` : ''}`,
              );
            throw e;
          }
          created.push(name);
        }
        cli.emit(out(flags), { names: created }, () => created.map((n) => `created key ${n}`));
      }),
  );

  sub('import <name>', 'import a 32-byte master key: --key-file (raw 32 bytes or base64), or base64 on stdin')
    .option('--key-file <file>', 'file holding the key: 32 raw bytes, or base64 text')
    .addOption(new Option('--cipher <cipher>', 'algorithm of the key').choices(['AES256', 'ChaCha20']).default('AES256'))
    .action((name: string, flags: Flags & { keyFile?: string; cipher: KesCipher }) =>
      withClient(cli, flags, async (c) => {
        const bytes = flags.keyFile ? keyFromFile(cli, flags.keyFile) : await keyFromStdin(cli);
        try {
          await c.importKey(name, bytes, flags.cipher);
        } finally {
          bytes.fill(0);
        }
        cli.emit(out(flags), { name, cipher: flags.cipher }, () => `imported key ${name} (${flags.cipher})`);
      }),
    );

  sub('info <name>', 'show a key: algorithm, state, versions, creator')
    .alias('describe')
    .action((name: string, flags: Flags) =>
      withClient(cli, flags, async (c) => {
        const d = await c.describeKey(name);
        cli.emit(out(flags), d, () => describeLines(d));
      }),
    );

  sub('ls [pattern]', "list key names (a prefix with a trailing '*', as KES; default all)").action(
    (pattern: string | undefined, flags: Flags) =>
      withClient(cli, flags, async (c) => {
        const names = await c.allKeys(pattern ?? '*');
        if (!flags.json && names.length === 0) cli.note(`no key matches '${pattern ?? '*'}'`);
        cli.emit(out(flags), { names }, () => names);
      }),
  );

  sub('rm <name>', 'delete a key for good: cryptographic erasure of every version (refused while a kesgate gateway has objects under it)')
    .alias('delete')
    .option('-y, --yes', 'do not ask for confirmation')
    .option('--force', 'delete even while objects depend on the key (or the gateway cannot be asked): they are erased for good')
    .option(
      '--gateway <url>',
      'the kesgate gateway to ask what depends on the key (default: $KESGATE_ADDRESS, else $KESGATE_HOME/gateway.yaml)',
    )
    .option('--gateway-ca <file>', 'PEM CA of an https:// gateway (default: $KESGATE_HOME/certs/ca.crt)')
    .action((name: string, flags: Flags & GuardFlags & { yes?: boolean; force?: boolean }) =>
      withClient(cli, flags, async (c) => {
        cli.note(
          flags.force
            ? `--force: not asking a gateway what depends on key ${name}`
            : await guardKeyDelete(name, flags, cli.env, cli.io.cwd),
        );
        await confirmDelete(cli, name, !!flags.yes);
        await c.deleteKey(name);
        cli.emit(
          out(flags),
          { name, deleted: true },
          () =>
            `deleted key ${name}: every version was erased (cryptographic erasure); data encrypted under it can never be decrypted again`,
        );
      }),
    );

  sub('dek <name>', 'generate a data key: its plaintext and its ciphertext under the master key')
    .option('--context <base64>', 'associated data, base64; decrypt must present the same bytes', base64Option('--context'))
    .action((name: string, flags: Flags & { context?: Buffer }) =>
      withClient(cli, flags, async (c) => {
        const dek = await c.generateKey(name, flags.context);
        const value = {
          plaintext: dek.plaintext.toString('base64'),
          ciphertext: dek.ciphertext.toString('base64'),
          ...(dek.version ? { version: dek.version } : {}),
        };
        dek.plaintext.fill(0);
        cli.emit(out(flags), value, () =>
          table([
            ['plaintext', value.plaintext],
            ['ciphertext', value.ciphertext],
            ...(value.version ? [['version', value.version] as [string, string]] : []),
          ]),
        );
      }),
    );

  sub('encrypt <name> <message>', 'encrypt a small message (the text as given, UTF-8) under the key; prints the ciphertext, base64')
    .option('--context <base64>', 'associated data, base64; decrypt must present the same bytes', base64Option('--context'))
    .action((name: string, message: string, flags: Flags & { context?: Buffer }) =>
      withClient(cli, flags, async (c) => {
        const r = await c.encrypt(name, Buffer.from(message, 'utf8'), flags.context);
        const value = { ciphertext: r.ciphertext.toString('base64'), ...(r.version ? { version: r.version } : {}) };
        cli.emit(out(flags), value, () => value.ciphertext);
      }),
    );

  sub('decrypt <name>', 'decrypt a ciphertext made by `kes key encrypt` or `kes key dek`; prints the plaintext, base64')
    .argument('<ciphertext>', 'the ciphertext, base64', base64Option('the ciphertext'))
    .option('--context <base64>', 'the associated data given when it was encrypted, base64', base64Option('--context'))
    .action((name: string, ciphertext: Buffer, flags: Flags & { context?: Buffer }) =>
      withClient(cli, flags, async (c) => {
        const plaintext = await c.decryptKey(name, ciphertext, flags.context);
        const value = { plaintext: plaintext.toString('base64') };
        plaintext.fill(0);
        cli.emit(out(flags), value, () => value.plaintext);
      }),
    );

  sub('rotate <name>', 'add a new version: new data keys use it, older versions still decrypt').action((name: string, flags: Flags) =>
    withClient(cli, flags, async (c) => {
      const d = (await c.rotateKey(name)) ?? (await c.describeKey(name));
      cli.emit(
        out(flags),
        d,
        () =>
          `rotated key ${name}: new data keys use ${d.latest_version ?? 'the new version'}; versions from ${d.min_decryption_version ?? 'v1'} still decrypt`,
      );
    }),
  );

  sub('seal <name>', 'seal one key: it refuses generate, encrypt, decrypt and hmac until unsealed').action((name: string, flags: Flags) =>
    withClient(cli, flags, async (c) => {
      await c.sealKey(name);
      cli.emit(
        out(flags),
        { name, state: 'sealed' },
        () => `sealed key ${name}: it refuses generate, encrypt, decrypt and hmac until \`kes key unseal ${name}\``,
      );
    }),
  );

  sub('unseal <name>', 'lift the per-key seal of a key').action((name: string, flags: Flags) =>
    withClient(cli, flags, async (c) => {
      await c.unsealKey(name);
      cli.emit(out(flags), { name, state: 'active' }, () => `unsealed key ${name}`);
    }),
  );

  sub('config <name>', 'set the oldest version that may decrypt (emergency revocation of older versions)')
    .requiredOption('--min-decryption-version <version>', 'e.g. v2 or 2; may be lowered again later', keyVersion)
    .action((name: string, flags: Flags & { minDecryptionVersion: number }) =>
      withClient(cli, flags, async (c) => {
        const d = (await c.configureKey(name, { min_decryption_version: flags.minDecryptionVersion })) ?? (await c.describeKey(name));
        cli.emit(out(flags), d, () => `key ${name}: versions below v${flags.minDecryptionVersion} now refuse to decrypt`);
      }),
    );

  return key;
}

const out = (flags: Flags) => ({ json: !!flags.json });

function describeLines(d: KeyDescription): string[] {
  const versions = (d.versions ?? []).map((v) => (typeof v === 'string' ? v : v.version));
  return table([
    ['name', d.name],
    ['algorithm', d.algorithm ?? '?'],
    ['state', d.state ?? 'active'],
    ['created', `${d.created_at ?? '?'}${d.created_by ? ` by ${d.created_by}` : ''}`],
    ['versions', versions.join(', ') || '?'],
    ['latest', d.latest_version ?? '?'],
    ['min decryption', String(d.min_decryption_version ?? 'v1')],
  ]);
}

function checkSize(bytes: Buffer, source: string): Buffer {
  if (bytes.length !== KEY_SIZE) {
    bytes.fill(0);
    throw new CliError(`${source} holds ${bytes.length} bytes; a master key is ${KEY_SIZE} bytes (raw, or base64 of ${KEY_SIZE} bytes)`);
  }
  return bytes;
}

function keyFromFile(cli: Cli, file: string): Buffer {
  const raw = readFileFor(file, 'key file', cli.io.cwd);
  if (raw.length === KEY_SIZE) return raw;
  const text = raw.toString('utf8');
  raw.fill(0);
  try {
    return checkSize(decodeBase64(text, `key file ${file}`), `key file ${file}`);
  } catch (e) {
    throw new CliError((e as Error).message);
  }
}

async function keyFromStdin(cli: Cli): Promise<Buffer> {
  const input = cli.input();
  try {
    const text = input.interactive ? await input.secret('Master key (base64 of 32 bytes): ') : await input.readAll();
    if (!text?.trim()) throw new CliError('no key given: pass --key-file, or the base64 key on stdin');
    const source = input.interactive ? 'the key typed' : 'the key on stdin';
    return checkSize(decodeBase64(text, source), source);
  } catch (e) {
    throw e instanceof CliError ? e : new CliError((e as Error).message);
  } finally {
    input.close();
  }
}

async function confirmDelete(cli: Cli, name: string, yes: boolean): Promise<void> {
  const input = cli.input();
  if (yes || !input.interactive) return;
  cli.note(
    `Deleting key '${name}' is cryptographic erasure: every version is destroyed, and everything encrypted under it can never be decrypted again.`,
  );
  const answer = await input.ask(`Type the key name to confirm: `);
  if (answer !== name) throw new CliError(`not deleted: the confirmation did not match '${name}'`);
}

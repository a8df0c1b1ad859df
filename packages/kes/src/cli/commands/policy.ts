// `kes policy ls|info|show`: the policies of a running kes (defined in its config; read-only here).
import { Command } from 'commander';
import { clientOptions, withClient, type ConnectionFlags } from '../connection.js';
import type { Cli } from '../io.js';
import { table } from '../output.js';

type Flags = ConnectionFlags & { json?: boolean };

export function policyCommand(cli: Cli): Command {
  const policy = new Command('policy').description('the policies of a running kes (they are set in its config file)');

  clientOptions(policy.command('ls').description("list policy names (a prefix with a trailing '*', as KES; default all)"))
    .argument('[pattern]', 'name prefix', '*')
    .action((pattern: string, flags: Flags) =>
      withClient(cli, flags, async (c) => {
        const names = await c.listPolicies(pattern);
        if (!flags.json && names.length === 0) cli.note(`no policy matches '${pattern}'`);
        cli.emit({ json: !!flags.json }, { names }, () => names);
      }),
    );

  clientOptions(policy.command('info').description('show when a policy was made and by whom'))
    .argument('<name>', 'policy name')
    .action((name: string, flags: Flags) =>
      withClient(cli, flags, async (c) => {
        const d = await c.describePolicy(name);
        cli.emit({ json: !!flags.json }, d, () =>
          table([
            ['name', d.name],
            ['created', `${d.created_at ?? '?'}${d.created_by ? ` by ${d.created_by}` : ''}`],
          ]),
        );
      }),
    );

  clientOptions(policy.command('show').description('print a policy: the API paths it allows and denies'))
    .argument('<name>', 'policy name')
    .action((name: string, flags: Flags) =>
      withClient(cli, flags, async (c) => {
        const p = await c.readPolicy(name);
        cli.emit({ json: !!flags.json }, p, () => [
          ...section('Allow', p.allow),
          ...section('Deny', p.deny),
          `Created at: ${p.created_at ?? '?'}`,
          ...(p.created_by ? [`Created by: ${p.created_by}`] : []),
        ]);
      }),
    );

  return policy;
}

function section(title: string, rules: Record<string, unknown> | undefined): string[] {
  const paths = Object.keys(rules ?? {});
  return paths.length ? [`${title}:`, ...paths.map((p) => `  · ${p}`), ''] : [];
}

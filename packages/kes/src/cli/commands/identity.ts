// `kes identity new|of` and `kes dev-certs`: certificates and the identities kes derives from them;
// `kes identity ls|info`: the identities a running kes knows.
import { X509Certificate } from 'node:crypto';
import { Command } from 'commander';
import { readFileFor, refuseExisting, writeNewFile } from '../../files.js';
import { clientOptions, withClient, type ConnectionFlags } from '../connection.js';
import type { Cli } from '../io.js';
import { CliError, table } from '../output.js';
import { hostList, integer } from '../parse.js';

type ClientFlags = ConnectionFlags & { json?: boolean };

interface NewFlags {
  key?: string;
  cert?: string;
  days: number;
  force?: boolean;
  json?: boolean;
}

export function identityCommand(cli: Cli): Command {
  const identity = new Command('identity').description('client certificates and their kes identities');

  identity
    .command('new')
    .description('write a private key and a self-signed client certificate, and print its identity')
    .argument('[name]', 'subject common name; also names the files NAME.key / NAME.crt', 'kes-client')
    .option('--key <file>', 'where to write the private key (default NAME.key)')
    .option('--cert <file>', 'where to write the certificate (default NAME.crt)')
    .option('--days <n>', 'validity in days', integer(1, 36500), 825)
    .option('--force', 'overwrite existing files')
    .option('--json', 'print JSON')
    .action(async (name: string, flags: NewFlags) => {
      const { identityOf, selfSignedClientCert } = await import('../../pki/pki.js');
      if (!/^[\x20-\x7e]{1,64}$/.test(name)) throw new CliError(`invalid name '${name}': 1-64 printable ASCII characters`);
      const keyPath = cli.path(flags.key ?? `${name}.key`);
      const certPath = cli.path(flags.cert ?? `${name}.crt`);
      if (keyPath === certPath) throw new CliError('--key and --cert name the same file');
      refuseExisting([keyPath, certPath], flags.force);
      const pair = selfSignedClientCert(name, flags.days);
      writeNewFile(keyPath, pair.key, { mode: 0o600, force: flags.force });
      writeNewFile(certPath, pair.cert, { mode: 0o644, force: flags.force });
      const id = identityOf(pair.cert);
      cli.emit({ json: !!flags.json }, { identity: id, name, cert: certPath, key: keyPath }, () => [
        `Identity: ${id}`,
        ...table(
          [
            ['certificate', certPath],
            ['private key', keyPath],
          ],
          '  ',
        ),
        'Put the identity into the kes config (admin.identity or a policy); keep the private key secret.',
      ]);
    });

  identity
    .command('of')
    .description('print the identity of a certificate: hex SHA-256 of its public key (SubjectPublicKeyInfo)')
    .argument('<cert>', 'PEM certificate file')
    .option('--json', 'print JSON')
    .action(async (file: string, flags: { json?: boolean }) => {
      const { identityOf } = await import('../../pki/pki.js');
      const pem = readFileFor(file, 'certificate', cli.io.cwd);
      let x509: X509Certificate;
      try {
        x509 = new X509Certificate(pem);
      } catch {
        throw new CliError(`${file} is not a PEM (or DER) certificate`);
      }
      const id = identityOf(x509);
      cli.emit({ json: !!flags.json }, { identity: id, subject: x509.subject, not_after: new Date(x509.validTo).toISOString() }, () => id);
    });

  clientOptions(
    identity.command('ls').description("list the identities kes's policies name, not the admin (as KES; a prefix with a trailing '*')"),
  )
    .argument('[pattern]', 'identity prefix', '*')
    .action((pattern: string, flags: ClientFlags) =>
      withClient(cli, flags, async (c) => {
        const identities = await c.listIdentities(pattern);
        if (!flags.json && identities.length === 0) cli.note(`no identity matches '${pattern}'`);
        cli.emit({ json: !!flags.json }, { identities }, () => identities);
      }),
    );

  clientOptions(
    identity.command('info').description('show an identity: admin, or the policy it has (default: your own, from the client certificate)'),
  )
    .argument('[identity]', 'hex identity (see `kes identity of`)')
    .action((id: string | undefined, flags: ClientFlags) =>
      withClient(cli, flags, async (c) => {
        if (id === undefined) {
          const self = await c.selfDescribe();
          const policy = self.policy as { name?: string } | undefined;
          cli.emit({ json: !!flags.json }, self, () =>
            table([
              ['identity', String(self.identity ?? '')],
              ['role', self.admin === true ? 'admin' : policy?.name ? `policy ${policy.name}` : 'none (no policy names it)'],
              ['created', String(self.created_at ?? '?')],
            ]),
          );
          return;
        }
        const d = await c.describeIdentity(id);
        cli.emit({ json: !!flags.json }, { identity: id.toLowerCase(), ...d }, () =>
          table([
            ['identity', id.toLowerCase()],
            ['role', d.admin ? 'admin' : `policy ${d.policy ?? '?'}`],
            ['created', `${d.created_at ?? '?'}${d.created_by ? ` by ${d.created_by}` : ''}`],
          ]),
        );
      }),
    );

  return identity;
}

export function devCertsCommand(cli: Cli): Command {
  return new Command('dev-certs')
    .description('write a development CA, a server certificate and admin/gateway client certificates')
    .requiredOption('--out <dir>', 'directory for ca.crt, kes.crt, admin.crt, gateway.crt and their keys')
    .option('--hosts <list>', 'server certificate names and IPs, comma-separated', hostList, ['localhost', '127.0.0.1'])
    .option('--force', 'overwrite existing files')
    .option('--json', 'print JSON')
    .action(async (flags: { out: string; hosts: string[]; force?: boolean; json?: boolean }) => {
      const { writeDevCerts } = await import('../../pki/dev-certs.js');
      const r = writeDevCerts(cli.path(flags.out), flags.hosts, { force: flags.force });
      cli.emit({ json: !!flags.json }, { admin_identity: r.adminIdentity, gateway_identity: r.gatewayIdentity, files: r.files }, () => [
        `Development certificates in ${cli.path(flags.out)} (server certificate for ${flags.hosts.join(', ')}):`,
        ...table(
          [
            ['CA', r.files.ca],
            ['server', r.files.serverCert],
            ['admin', r.files.adminCert],
            ['gateway', r.files.gatewayCert],
          ],
          '  ',
        ),
        `admin identity:   ${r.adminIdentity}`,
        `gateway identity: ${r.gatewayIdentity}`,
        'For development only: the CA key is on disk next to the certificates it signs.',
      ]);
    });
}

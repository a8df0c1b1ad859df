// How client commands find the gateway: flags over environment over $KESGATE_HOME files.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { endpointFromAddress, parseKeyValueFile, resolveConnection } from '../../src/cli/connection.js';
import { tempDir } from '../admin/helpers.js';

function home(files: Record<string, string>): string {
  const dir = tempDir('kesgate-cli-conn-');
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  return dir;
}

test('flags win over the environment, which wins over $KESGATE_HOME; each source is taken whole for credentials', () => {
  const h = home({
    credentials: 'KESGATE_ROOT_USER=home-user\nKESGATE_ROOT_PASSWORD=home-secret\n',
    'gateway.yaml': 'address: 127.0.0.1:9100\nregion: eu-west-3\n',
  });
  const env = { KESGATE_HOME: h };
  assert.deepEqual(resolveConnection({}, env), {
    endpoint: 'http://127.0.0.1:9100',
    accessKey: 'home-user',
    secretKey: 'home-secret',
    region: 'eu-west-3',
  });

  const withEnv = {
    ...env,
    KESGATE_ADDRESS: '127.0.0.1:9200',
    KESGATE_ROOT_USER: 'env-user',
    KESGATE_ROOT_PASSWORD: 'env-secret',
    KESGATE_REGION: 'us-west-2',
  };
  assert.deepEqual(resolveConnection({}, withEnv), {
    endpoint: 'http://127.0.0.1:9200',
    accessKey: 'env-user',
    secretKey: 'env-secret',
    region: 'us-west-2',
  });

  assert.deepEqual(
    resolveConnection(
      { endpoint: 'https://gw.example:9443', accessKey: 'flag-user', secretKey: 'flag-secret', region: 'ap-south-1' },
      withEnv,
    ),
    {
      endpoint: 'https://gw.example:9443',
      accessKey: 'flag-user',
      secretKey: 'flag-secret',
      region: 'ap-south-1',
    },
  );
  // A half-given pair from flags is not completed from another source (that would mix two identities).
  assert.throws(() => resolveConnection({ accessKey: 'flag-user' }, withEnv), /no root credentials: pass --access-key and --secret-key/);
});

test('$KESGATE_HOME defaults to ./.kesgate; a gateway.yaml with ${ENV} references and a wildcard address still yields an endpoint', () => {
  const cwd = tempDir('kesgate-cli-cwd-');
  assert.throws(() => resolveConnection({}, {}, cwd), /cannot find the gateway: pass --endpoint.*\.kesgate\/gateway\.yaml is missing/);
  const h = home({
    credentials: 'export KESGATE_ROOT_USER="quoted-user"\n# comment\nKESGATE_ROOT_PASSWORD=\'quoted-secret\'\n',
    'gateway.yaml':
      'address: 0.0.0.0:9000\ncredentials: { accessKey: ${KESGATE_ROOT_USER}, secretKey: ${KESGATE_ROOT_PASSWORD} }\nregion: ${SOME_UNSET_VARIABLE}\n',
  });
  const c = resolveConnection({}, { KESGATE_HOME: h });
  assert.deepEqual(c, { endpoint: 'http://127.0.0.1:9000', accessKey: 'quoted-user', secretKey: 'quoted-secret', region: 'us-east-1' });
});

test('addresses and KEY=VALUE files', () => {
  assert.equal(endpointFromAddress('127.0.0.1:9000'), 'http://127.0.0.1:9000');
  assert.equal(endpointFromAddress(':9000'), 'http://127.0.0.1:9000');
  assert.equal(endpointFromAddress('[::]:9000'), 'http://[::1]:9000');
  assert.equal(endpointFromAddress('http://gw:9000/'), 'http://gw:9000');
  assert.throws(() => endpointFromAddress('gateway'), /expected HOST:PORT/);
  assert.deepEqual(parseKeyValueFile('A=1\n\n# c\nexport B = two words \nC="x=y"\nnot a pair\n'), { A: '1', B: 'two words', C: 'x=y' });
});

// `kes server` reloads its policies on SIGHUP: an identity allowed by the edited config gets in without a restart.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { KesError } from '@kesgate/kes-client';
import { clientFor, kes, makeInstallation, startServer, stopAllChildren, stopChild } from './helpers.js';

after(stopAllChildren);

test('SIGHUP reloads the policy: describe goes from 403 to allowed, and a broken config keeps the old one', async () => {
  const inst = await makeInstallation();
  // Initialised but started without an unseal file: sealed, so allowed key routes answer 503 and forbidden ones 403.
  assert.equal((await kes(['init', '--config', inst.config, '--shares', '1', '--threshold', '1', '--json'])).code, 0);
  const srv = await startServer(inst);
  const gateway = clientFor(inst, 'gateway');
  try {
    // The policy of makeInstallation does not allow /v1/key/describe/*.
    await assert.rejects(gateway.describeKey('anything'), (e: unknown) => e instanceof KesError && e.status === 403);
    const yaml = readFileSync(inst.config, 'utf8');
    writeFileSync(inst.config, yaml.replace('/v1/sys/seal-status]', '/v1/sys/seal-status, /v1/key/describe/*]'));
    srv.child.kill('SIGHUP');
    let status = 0;
    for (let i = 0; i < 50 && status !== 503; i++) {
      status = await gateway.describeKey('anything').then(
        () => 200,
        (e: KesError) => e.status,
      );
      if (status !== 503) await sleep(100);
    }
    assert.equal(status, 503, 'after the reload the gateway identity may call describe');
    writeFileSync(inst.config, 'address: [this is not a config');
    srv.child.kill('SIGHUP');
    await sleep(300);
    assert.equal(srv.child.exitCode, null, 'a broken config does not stop the server');
    assert.equal(
      await gateway.describeKey('anything').then(
        () => 200,
        (e: KesError) => e.status,
      ),
      503,
      'the previous policy stays',
    );
    assert.match(srv.log(), /reload failed/);
  } finally {
    gateway.close();
    await stopChild(srv.child);
  }
});

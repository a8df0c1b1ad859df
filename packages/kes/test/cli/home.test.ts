// The kes client commands in a state directory as `npm start` keeps it ($KESGATE_HOME, or ./.kesgate):
// kes's address from its kes.yaml, the admin's certificate and the CA from certs/, with no KES_* export.
// Flags and KES_* variables still win; a certificate is never paired with a key from elsewhere.
import assert from 'node:assert/strict';
import { symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { tempDir } from '../helpers/tmp.js';
import { freePort, kes, kesJson, makeInstallation, startServerInProcess, stopAllChildren, type Installation } from './helpers.js';

let inst: Installation;
let shares: string[];

before(async () => {
  // An installation has the home's layout: kes.yaml, certs/{ca,admin}.{crt,key}.
  inst = await makeInstallation();
  shares = (await kesJson<{ shares: string[] }>(['init', '--config', inst.config, '--shares', '1', '--threshold', '1'])).shares;
  await startServerInProcess(inst);
});

after(async () => {
  await stopAllChildren();
});

describe('kes client commands honour KESGATE_HOME', () => {
  test('unseal (share on stdin), key create and key ls with KESGATE_HOME alone', async () => {
    const home = { env: { KESGATE_HOME: inst.dir }, cwd: tempDir() };
    const unseal = await kes(['unseal'], { ...home, input: `${shares[0]}\n` });
    assert.equal(unseal.code, 0, unseal.stderr);
    assert.match(unseal.stdout, /kes is unsealed/);
    assert.deepEqual(await kesJson(['key', 'create', 'from-home'], home), { names: ['from-home'] });
    const ls = await kes(['key', 'ls'], home);
    assert.equal(ls.code, 0, ls.stderr);
    assert.match(ls.stdout, /^from-home$/m);
  });

  test('./.kesgate in the working directory is used when KESGATE_HOME is unset', async () => {
    const cwd = tempDir();
    symlinkSync(inst.dir, join(cwd, '.kesgate'));
    const ls = await kesJson<{ names: string[] }>(['key', 'ls'], { cwd });
    assert.ok(ls.names.includes('from-home'));
  });

  test('KES_SERVER and flags win over the home', async () => {
    const closed = `https://127.0.0.1:${await freePort()}`;
    const viaEnv = await kes(['key', 'ls'], { env: { KESGATE_HOME: inst.dir, KES_SERVER: closed }, cwd: tempDir() });
    assert.equal(viaEnv.code, 1);
    assert.match(viaEnv.stderr, new RegExp(closed.replace(/[.]/g, '\\.')));
    const viaFlag = await kes(['key', 'ls', '--server', closed], { env: { KESGATE_HOME: inst.dir }, cwd: tempDir() });
    assert.equal(viaFlag.code, 1);
    assert.match(viaFlag.stderr, new RegExp(closed.replace(/[.]/g, '\\.')));
  });

  test("a certificate given without its key is not paired with the home's key", async () => {
    const r = await kes(['key', 'ls', '--cert', join(inst.certs, 'gateway.crt')], { env: { KESGATE_HOME: inst.dir }, cwd: tempDir() });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /no client certificate: pass --cert and --key/);
  });

  test('a KESGATE_HOME without state changes nothing: the usual error', async () => {
    const r = await kes(['key', 'ls'], { env: { KESGATE_HOME: tempDir() }, cwd: tempDir() });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /no client certificate/);
  });
});

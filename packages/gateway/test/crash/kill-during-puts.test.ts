// kill -9 of the gateway while clients stream PUTs. The gateway runs in a child process
// (fixtures/gateway-process.ts) against a kes in this process; three clients keep overwriting
// their key with fresh 2 MiB objects (SSE-S3, SSE-C) or 3-part multipart uploads (SSE-KMS) until
// the child is SIGKILLed at a random point, several times over the same data directory. After
// each kill: the directory, opened fresh, has every data file referenced and nothing in tmp/; the
// restarted gateway serves every key byte-identical to a version that was fully PUT — the last
// acknowledged one or one in flight at the kill — never a torn mix.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  AbortMultipartUploadCommand,
  CreateBucketCommand,
  GetObjectCommand,
  ListMultipartUploadsCommand,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { gatewayProcessConfig, startGatewayProcess, type GatewayProcess } from '../helpers/gateway-process.js';
import { s3Client, startStack, type Stack } from '../helpers/stack.js';
import { ssec, uploadInParts } from '../helpers/s3.js';
import { checkDataDir } from './data-dir.js';
import { sha256, writeUntilKilled, type VersionWriter } from './write-until-kill.js';

const MiB = 1024 * 1024;
const B = 'crash-bucket';
const ROUNDS = 4;
const customer = ssec();

interface Writer extends VersionWriter {
  read: Record<string, string>;
}

// Each client writes one version after another, so a kill always lands inside a write of each: 2 MiB (32 DARE
// packages of 64 KiB) is many packages for a kill to tear, and the multipart parts are S3's 5 MiB minimum
// (all but the last), so every byte more would only cost CPU.
const writers: Writer[] = [
  {
    key: 'single-sse-s3',
    newVersion: () => [randomBytes(2 * MiB)],
    async write(s3, [body]) {
      await s3.send(new PutObjectCommand({ Bucket: B, Key: this.key, Body: body, ServerSideEncryption: 'AES256' }));
    },
    read: {},
  },
  {
    key: 'single-sse-c',
    newVersion: () => [randomBytes(2 * MiB)],
    async write(s3, [body]) {
      await s3.send(new PutObjectCommand({ Bucket: B, Key: this.key, Body: body, ...customer.put }));
    },
    read: customer.put,
  },
  {
    key: 'multipart-sse-kms',
    newVersion: () => [randomBytes(5 * MiB), randomBytes(5 * MiB), randomBytes(12345)],
    async write(s3, parts) {
      await uploadInParts(s3, { Bucket: B, Key: this.key, ServerSideEncryption: 'aws:kms' }, parts);
    },
    read: {},
  },
];

/** Per key: the sha256 of the last acknowledged version, and of versions sent but unanswered at the kill. */
interface KeyState {
  acknowledged?: string;
  inFlight: Set<string>;
}

let st: Stack;
let dir: string;
let running: GatewayProcess | undefined;

before(async () => {
  st = await startStack();
  dir = mkdtempSync(join(tmpdir(), 'kesgate-crash-gw-'));
});
after(async () => {
  await running?.kill();
  await st?.close();
  rmSync(dir, { recursive: true, force: true });
});

/** Every key holds one whole version the clients wrote; settles the states to what is there now. */
async function checkObjects(s3: S3Client, states: Map<string, KeyState>): Promise<void> {
  for (const w of writers) {
    const state = states.get(w.key)!;
    const allowed = new Set([...state.inFlight, ...(state.acknowledged ? [state.acknowledged] : [])]);
    let got: string | undefined;
    try {
      const r = await s3.send(new GetObjectCommand({ Bucket: B, Key: w.key, ...w.read }));
      const body = Buffer.from(await r.Body!.transformToByteArray());
      assert.equal(body.length, r.ContentLength);
      got = sha256(body);
    } catch (e) {
      assert.equal((e as { name: string }).name, 'NoSuchKey', `${w.key}: ${(e as Error).message}`);
      assert.equal(state.acknowledged, undefined, `${w.key}: an acknowledged object is missing`);
    }
    if (got !== undefined) assert.ok(allowed.has(got), `${w.key}: the object is not a version that was written (torn?)`);
    states.set(w.key, { ...(got ? { acknowledged: got } : {}), inFlight: new Set() });
  }
}

test(`every object stays whole across ${ROUNDS} SIGKILLs of the gateway during PUTs, and no orphan data remains`, async (t) => {
  const dataDir = join(dir, 'gateway-data');
  // SSE-C over plain HTTP on loopback, so one client can write SSE-C objects.
  const config = gatewayProcessConfig(st, { fs: { path: dataDir } }, { sse: { allowInsecureSSEC: true } });
  const states = new Map<string, KeyState>(writers.map((w) => [w.key, { inFlight: new Set<string>() }]));
  let acknowledged = 0;
  let orphansSwept = 0;
  let abortedUploads = 0;

  for (let round = 0; round <= ROUNDS; round++) {
    running = await startGatewayProcess(join(dir, 'gateway.yaml'), config);
    const s3 = s3Client(running.url);
    try {
      if (round === 0) await s3.send(new CreateBucketCommand({ Bucket: B }));
      await checkObjects(s3, states);
      // Uploads the previous kill interrupted are still listed, their parts intact: abort them.
      const pending = await s3.send(new ListMultipartUploadsCommand({ Bucket: B }));
      for (const u of pending.Uploads ?? []) {
        await s3.send(new AbortMultipartUploadCommand({ Bucket: B, Key: u.Key!, UploadId: u.UploadId! }));
        abortedUploads++;
      }
      if (round === ROUNDS) break;

      // Stream writes until a random number of them were acknowledged, then kill at a random moment.
      acknowledged += await writeUntilKilled({
        writers,
        s3,
        target: 2 + Math.floor(Math.random() * 4),
        killWithinMs: 300,
        kill: async () => assert.equal(await running!.kill(), 'SIGKILL'),
        sent: (key, sha) => states.get(key)!.inFlight.add(sha),
        acknowledged: (key, sha) => states.set(key, { acknowledged: sha, inFlight: new Set() }),
      });
    } finally {
      s3.destroy();
      await running.kill();
      running = undefined;
    }
    const check = await checkDataDir(dataDir);
    orphansSwept += check.startupSweep.orphanDataFilesRemoved + check.startupSweep.tempFilesRemoved;
  }
  assert.ok(acknowledged >= ROUNDS * 2, `${acknowledged} writes were acknowledged`);
  const final = await checkDataDir(dataDir);
  assert.equal(final.uploads, 0);
  assert.ok(final.objects >= 1 && final.objects <= writers.length);
  // Informational: how much a kill left behind for the startup sweep, how many uploads it cut.
  t.diagnostic(
    `${acknowledged} writes acknowledged, ${orphansSwept} temp/orphan files swept, ${abortedUploads} interrupted uploads aborted`,
  );
});

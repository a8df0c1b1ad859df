// kill -9 of the gateway while clients write versions into a versioning-enabled bucket. The gateway runs in
// a child process (fixtures/gateway-process.ts) against a kes in this process; two clients keep adding
// versions of their key (single 2 MiB PUTs under SSE-S3, 2-part multipart uploads under SSE-KMS) until the
// child is SIGKILLed at a random point, several times over the same data directory. After each kill and
// restart: the bucket is still versioned; every acknowledged version is listed with its id and reads back
// byte-identical; every listed version is one that was written whole (acknowledged, or in flight at the
// kill), never a torn one; the latest is the last acknowledged version or one in flight; and the directory,
// opened fresh, references every data file of every version with nothing left over.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  AbortMultipartUploadCommand,
  CreateBucketCommand,
  GetBucketVersioningCommand,
  GetObjectCommand,
  ListMultipartUploadsCommand,
  ListObjectVersionsCommand,
  PutBucketVersioningCommand,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { s3Client, startStack, type Stack } from '../helpers/stack.js';
import { uploadInParts } from '../helpers/s3.js';
import { gatewayProcessConfig, startGatewayProcess, type GatewayProcess } from '../helpers/gateway-process.js';
import { checkDataDir } from './data-dir.js';
import { sha256, writeUntilKilled, type VersionWriter } from './write-until-kill.js';

const MiB = 1024 * 1024;
const B = 'crash-versions';
const ROUNDS = 3;

/** Each write resolves with the version id it was stored under. */
type Writer = VersionWriter<string>;

const writers: Writer[] = [
  {
    key: 'single',
    newVersion: () => [randomBytes(2 * MiB)],
    async write(s3, [body]) {
      return (await s3.send(new PutObjectCommand({ Bucket: B, Key: this.key, Body: body, ServerSideEncryption: 'AES256' }))).VersionId!;
    },
  },
  {
    key: 'multipart',
    newVersion: () => [randomBytes(5 * MiB), randomBytes(MiB + 7)],
    async write(s3, parts) {
      return (await uploadInParts(s3, { Bucket: B, Key: this.key, ServerSideEncryption: 'aws:kms' }, parts)).VersionId!;
    },
  },
];

/** Per key: acknowledged versions (id → sha256) in order, and the sha256 of versions unanswered at a kill. */
interface KeyState {
  acknowledged: Map<string, string>;
  inFlight: Set<string>;
}

let st: Stack;
let dir: string;
let running: GatewayProcess | undefined;

before(async () => {
  st = await startStack();
  dir = mkdtempSync(join(tmpdir(), 'kesgate-crash-versions-'));
});
after(async () => {
  await running?.kill();
  await st?.close();
  rmSync(dir, { recursive: true, force: true });
});

async function checkVersions(s3: S3Client, states: Map<string, KeyState>): Promise<void> {
  assert.equal((await s3.send(new GetBucketVersioningCommand({ Bucket: B }))).Status, 'Enabled');
  const listed = await s3.send(new ListObjectVersionsCommand({ Bucket: B }));
  assert.equal(listed.IsTruncated, false);
  assert.equal(listed.DeleteMarkers, undefined);
  for (const w of writers) {
    const state = states.get(w.key)!;
    const versions = (listed.Versions ?? []).filter((v) => v.Key === w.key);
    const ids = new Set(versions.map((v) => v.VersionId!));
    for (const id of state.acknowledged.keys()) assert.ok(ids.has(id), `${w.key}: acknowledged version ${id} is listed`);
    for (const v of versions) {
      const r = await s3.send(new GetObjectCommand({ Bucket: B, Key: w.key, VersionId: v.VersionId! }));
      const sha = sha256(Buffer.from(await r.Body!.transformToByteArray()));
      const known = state.acknowledged.get(v.VersionId!);
      if (known !== undefined) assert.equal(sha, known, `${w.key} ${v.VersionId}: byte-identical`);
      else {
        assert.ok(state.inFlight.has(sha), `${w.key} ${v.VersionId}: a version that was written whole (torn?)`);
        state.acknowledged.set(v.VersionId!, sha);
      }
    }
    const latest = versions.find((v) => v.IsLatest);
    if (state.acknowledged.size > 0) {
      assert.ok(latest, `${w.key}: a latest version`);
      const last = [...state.acknowledged.keys()].pop();
      const lastAcked = last !== undefined && latest.VersionId === last;
      assert.ok(
        lastAcked || state.acknowledged.has(latest.VersionId!),
        `${w.key}: the latest is the last acknowledged version or one in flight`,
      );
    }
    state.inFlight.clear();
  }
}

test(`versions stay whole and listed across ${ROUNDS} SIGKILLs of the gateway during versioned writes`, async (t) => {
  const dataDir = join(dir, 'gateway-data');
  const config = gatewayProcessConfig(st, { fs: { path: dataDir } });
  const states = new Map<string, KeyState>(writers.map((w) => [w.key, { acknowledged: new Map(), inFlight: new Set() }]));
  let acknowledged = 0;

  for (let round = 0; round <= ROUNDS; round++) {
    running = await startGatewayProcess(join(dir, 'gateway.yaml'), config);
    const s3 = s3Client(running.url);
    try {
      if (round === 0) {
        await s3.send(new CreateBucketCommand({ Bucket: B }));
        await s3.send(new PutBucketVersioningCommand({ Bucket: B, VersioningConfiguration: { Status: 'Enabled' } }));
      }
      await checkVersions(s3, states);
      const pending = await s3.send(new ListMultipartUploadsCommand({ Bucket: B }));
      for (const u of pending.Uploads ?? [])
        await s3.send(new AbortMultipartUploadCommand({ Bucket: B, Key: u.Key!, UploadId: u.UploadId! }));
      if (round === ROUNDS) break;

      acknowledged += await writeUntilKilled({
        writers,
        s3,
        target: 2 + Math.floor(Math.random() * 3),
        killWithinMs: 200,
        kill: async () => assert.equal(await running!.kill(), 'SIGKILL'),
        sent: (key, sha) => states.get(key)!.inFlight.add(sha),
        acknowledged: (key, sha, id) => {
          const state = states.get(key)!;
          state.acknowledged.set(id, sha);
          state.inFlight.delete(sha);
        },
      });
    } finally {
      s3.destroy();
      await running.kill();
      running = undefined;
    }
    await checkDataDir(dataDir);
  }
  const final = await checkDataDir(dataDir);
  const versions = [...states.values()].reduce((n, s) => n + s.acknowledged.size, 0);
  assert.equal(final.objects, versions, 'every version on disk is one the clients wrote and saw listed');
  assert.ok(acknowledged >= ROUNDS * 2);
  t.diagnostic(`${acknowledged} versions acknowledged, ${versions} stored`);
});

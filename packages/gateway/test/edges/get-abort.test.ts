// A client that leaves in the middle of a large GET: the gateway stops reading the object and closes its
// data file (the stack runs in this process, so /proc/self/fd shows every file it holds open), and the
// next GET of the object is served whole.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { randomBytes } from 'node:crypto';
import { readdirSync, readlinkSync } from 'node:fs';
import net from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { CreateBucketCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { ACCESS_KEY, SECRET_KEY, startStack, type Stack } from '../helpers/stack.js';
import { getBytes } from '../helpers/s3.js';
import { RawClient } from './raw.js';
import { head } from './wire.js';

const B = 'get-abort';
const big = randomBytes(32 * 1024 * 1024);
let st: Stack;

before(async () => {
  st = await startStack();
  await st.s3.send(new CreateBucketCommand({ Bucket: B }));
  await st.s3.send(new PutObjectCommand({ Bucket: B, Key: 'big', Body: big }));
});
after(() => st.close());

/** Files under the gateway's data directory this process holds open. */
function openDataFiles(): string[] {
  const out: string[] = [];
  for (const fd of readdirSync('/proc/self/fd')) {
    try {
      const target = readlinkSync(`/proc/self/fd/${fd}`);
      if (target.startsWith(st.dataDir) && !target.endsWith('.db') && !target.includes('.db-')) out.push(target);
    } catch {
      // closed meanwhile
    }
  }
  return out;
}

test(
  'a client leaving mid-GET makes the gateway close the data file; the object still reads whole',
  { skip: process.platform !== 'linux' && 'needs /proc' },
  async () => {
    const raw = new RawClient(st.gw.httpPort, ACCESS_KEY, SECRET_KEY);
    const headers = await raw.sign({ method: 'GET', path: `/${B}/big` });
    const socket = net.connect(st.gw.httpPort, '127.0.0.1');
    await once(socket, 'connect');
    socket.write(head('GET', `/${B}/big`, headers));
    let received = 0;
    socket.on('data', (c: Buffer) => (received += c.length));
    while (received < 1024 * 1024) await sleep(5);
    assert.ok(openDataFiles().length >= 1, 'the data file is open while the body is sent');
    socket.destroy();

    for (let i = 0; i < 200 && openDataFiles().length > 0; i++) await sleep(10);
    assert.deepEqual(openDataFiles(), [], 'no data file is left open');
    assert.ok(received < big.length, 'the client left before the end');
    assert.ok((await getBytes(st.s3, { Bucket: B, Key: 'big' })).equals(big));
  },
);

// A PUT that arrives on an HTTPS keep-alive connection while the previous response is still draining
// must be served, not reset. Node 20's server fed such a request's later TLS records to its paused parser
// (HPE_PAUSED) and destroyed the connection: found by `npm run load` as rare SSE-C PUT resets, made
// deterministic here by a client that stops reading a large GET's answer, sends the PUT on the same
// connection, then reads both answers. See src/http/tls-parse-path.ts.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createHash, randomBytes } from 'node:crypto';
import tls from 'node:tls';
import { CreateBucketCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { ACCESS_KEY, SECRET_KEY, startStack, type Stack } from '../helpers/stack.js';
import { getBytes, ssec } from '../helpers/s3.js';
import { RawClient, sha256Hex } from './raw.js';
import { head as requestHead } from './wire.js';

const B = 'https-keepalive';
const big = randomBytes(16 * 1024 * 1024);
let st: Stack;
let raw: RawClient;

before(async () => {
  st = await startStack();
  raw = new RawClient(st.gw.httpsPort!, ACCESS_KEY, SECRET_KEY);
  await st.s3.send(new CreateBucketCommand({ Bucket: B }));
  await st.s3.send(new PutObjectCommand({ Bucket: B, Key: 'big', Body: big }));
});
after(() => st.close());

interface Answer {
  status: number;
  body: Buffer;
}

/** Splits the bytes of consecutive HTTP/1.1 responses that carry Content-Length. */
function splitResponses(bytes: Buffer): Answer[] {
  const out: Answer[] = [];
  let at = 0;
  while (at < bytes.length) {
    const end = bytes.indexOf('\r\n\r\n', at);
    assert.ok(end > 0, `an incomplete response head at byte ${at}`);
    const head = bytes.subarray(at, end).toString('latin1');
    const length = Number(/\r\ncontent-length: *(\d+)/i.exec(head)?.[1] ?? 0);
    out.push({ status: Number(head.split(' ')[1]), body: bytes.subarray(end + 4, end + 4 + length) });
    at = end + 4 + length;
  }
  return out;
}

test('a PUT sent while a large GET answer is still draining is served on the same HTTPS connection', async () => {
  const key = ssec();
  const body = randomBytes(200 * 1024);
  const getHeaders = await raw.sign({ method: 'GET', path: `/${B}/big` });
  const putHeaders = await raw.sign({
    method: 'PUT',
    path: `/${B}/after-get`,
    body,
    headers: {
      'content-length': String(body.length),
      'x-amz-server-side-encryption-customer-algorithm': 'AES256',
      'x-amz-server-side-encryption-customer-key': key.key.toString('base64'),
      'x-amz-server-side-encryption-customer-key-md5': createHash('md5').update(key.key).digest('base64'),
      connection: 'close',
    },
  });
  assert.equal(putHeaders['x-amz-content-sha256'], sha256Hex(body));

  const socket = tls.connect({ host: '127.0.0.1', port: st.gw.httpsPort!, ca: st.caPem, servername: 'localhost' });
  await once(socket, 'secureConnect');
  const received: Buffer[] = [];
  socket.on('data', (c: Buffer) => received.push(c));
  socket.write(requestHead('GET', `/${B}/big`, getHeaders));
  await once(socket, 'data');
  // Stop reading: the gateway's answer backs up in its socket, which then needs to drain when the PUT comes.
  socket.pause();
  socket.write(Buffer.concat([Buffer.from(requestHead('PUT', `/${B}/after-get`, putHeaders)), body]));
  await new Promise((r) => setTimeout(r, 200));
  socket.resume();
  await once(socket, 'close');

  const answers = splitResponses(Buffer.concat(received));
  assert.deepEqual(
    answers.map((a) => a.status),
    [200, 200],
  );
  assert.ok(answers[0]!.body.equals(big), 'the GET answer is the object');
  const stored = await getBytes(st.s3tls, { Bucket: B, Key: 'after-get', ...key.put });
  assert.ok(stored.equals(body), 'the PUT stored its body');
});

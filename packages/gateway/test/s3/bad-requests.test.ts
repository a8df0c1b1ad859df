// Hand-made requests, signed with @smithy/signature-v4, that the s3 middleware must refuse — and
// the proof that the handler behind it saw nothing (it records only bodies that verified).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import net from 'node:net';
import { promisify } from 'node:util';
import zlib from 'node:zlib';
import { S3Error } from '../../src/s3/errors.js';
import {
  ACCESS_KEY,
  chunkSignature,
  errorCode,
  SECRET_KEY,
  send,
  signedHeaders,
  startServer,
  type RawResponse,
  type TestServer,
} from './harness.js';

let server: TestServer;
before(async () => {
  server = await startServer();
});
after(async () => {
  await server.close();
});

const sha256 = (b: Buffer | string): string => createHash('sha256').update(b).digest('hex');
const md5b64 = (b: Buffer | string): string => createHash('md5').update(b).digest('base64');
const crc32b64 = (b: Buffer): string => {
  const out = Buffer.alloc(4);
  out.writeUInt32BE(zlib.crc32(b) >>> 0);
  return out.toString('base64');
};

async function signedSend(
  method: string,
  path: string,
  headers: Record<string, string>,
  body?: Buffer | string,
  options: { accessKey?: string; secret?: string; date?: Date; after?: Record<string, string> } = {},
): Promise<RawResponse> {
  const signed = await signedHeaders(server.port, { method, path, headers }, options);
  return send(server.port, { method, path, headers: { ...signed, ...options.after }, body });
}

/** Sends a PUT and checks it was refused with `status`/`code` and that the handler stored nothing. */
async function expectRefusedPut(response: Promise<RawResponse>, status: number, code: string, key: string): Promise<RawResponse> {
  const before = server.received.length;
  const res = await response;
  assert.equal(res.status, status, res.body);
  assert.equal(errorCode(res.body), code, res.body);
  assert.equal(server.received.length, before, 'the handler must not have accepted the body');
  assert.equal(server.objects.has(`bucket/${key}`), false);
  return res;
}

const data = Buffer.from('the payload that was signed');

describe('credentials and signatures', () => {
  it('a well-signed PUT with a signed payload is accepted (the baseline for everything below)', async () => {
    const res = await signedSend('PUT', '/bucket/ok', { 'x-amz-content-sha256': sha256(data), 'content-md5': md5b64(data) }, data);
    assert.equal(res.status, 200, res.body);
    assert.equal(server.received.at(-1)!.sha256, sha256(data));
  });

  it('an unknown access key → 403 InvalidAccessKeyId', async () => {
    const res = await expectRefusedPut(
      signedSend('PUT', '/bucket/k1', { 'x-amz-content-sha256': sha256(data) }, data, { accessKey: 'AKIAUNKNOWN', secret: 'x' }),
      403,
      'InvalidAccessKeyId',
      'k1',
    );
    assert.match(res.body, /<AWSAccessKeyId>AKIAUNKNOWN<\/AWSAccessKeyId>/);
  });

  it('the wrong secret → 403 SignatureDoesNotMatch, with the string to sign for debugging', async () => {
    const res = await expectRefusedPut(
      signedSend('PUT', '/bucket/k2', { 'x-amz-content-sha256': sha256(data) }, data, { secret: 'wrong' }),
      403,
      'SignatureDoesNotMatch',
      'k2',
    );
    assert.match(res.body, /<StringToSign>AWS4-HMAC-SHA256\n/);
  });

  it('a clock 20 minutes off → 403 RequestTimeTooSkewed; 10 minutes is fine', async () => {
    await expectRefusedPut(
      signedSend('PUT', '/bucket/k3', { 'x-amz-content-sha256': sha256(data) }, data, { date: new Date(Date.now() - 20 * 60_000) }),
      403,
      'RequestTimeTooSkewed',
      'k3',
    );
    const ok = await signedSend('GET', '/bucket/ok', { 'x-amz-content-sha256': sha256('') }, undefined, {
      date: new Date(Date.now() + 10 * 60_000),
    });
    assert.equal(ok.status, 200, ok.body);
  });

  it('a signed request changed in flight (path, or an added x-amz-* header) is refused', async () => {
    const signed = await signedHeaders(server.port, { method: 'GET', path: '/bucket/ok', headers: { 'x-amz-content-sha256': sha256('') } });
    const moved = await send(server.port, { method: 'GET', path: '/bucket/ok2', headers: signed });
    assert.equal(moved.status, 403);
    assert.equal(errorCode(moved.body), 'SignatureDoesNotMatch');
    const added = await send(server.port, { method: 'GET', path: '/bucket/ok', headers: { ...signed, 'x-amz-meta-late': 'x' } });
    assert.equal(added.status, 403);
    assert.equal(errorCode(added.body), 'AccessDenied');
    assert.match(added.body, /<HeadersNotSigned>x-amz-meta-late<\/HeadersNotSigned>/);
  });

  it('no credentials → 403 AccessDenied; HEAD errors have no body; request ids match', async () => {
    const res = await send(server.port, { method: 'GET', path: '/bucket/ok', headers: {} });
    assert.equal(res.status, 403);
    assert.equal(errorCode(res.body), 'AccessDenied');
    assert.match(res.body, /^<\?xml version="1.0" encoding="UTF-8"\?>\n<Error><Code>AccessDenied<\/Code><Message>/);
    assert.match(res.body, new RegExp(`<RequestId>${String(res.headers['x-amz-request-id'])}</RequestId>`));
    assert.match(res.body, /<Resource>\/bucket\/ok<\/Resource>/);
    const head = await send(server.port, { method: 'HEAD', path: '/bucket/ok', headers: {} });
    assert.equal(head.status, 403);
    assert.equal(head.body, '');
  });

  it('a forged SigV2 signature, two auth mechanisms at once, and a wrong region are refused as AWS does', async () => {
    const v2 = await send(server.port, {
      method: 'GET',
      path: '/bucket/ok',
      headers: { date: new Date().toUTCString(), authorization: 'AWS AKIAKESGATETEST00001:c2lnbmF0dXJl' },
    });
    assert.equal(v2.status, 403);
    assert.equal(errorCode(v2.body), 'SignatureDoesNotMatch');

    const signed = await signedHeaders(server.port, { method: 'GET', path: '/bucket/ok', headers: { 'x-amz-content-sha256': sha256('') } });
    const both = await send(server.port, { method: 'GET', path: '/bucket/ok?X-Amz-Algorithm=AWS4-HMAC-SHA256', headers: signed });
    assert.equal(both.status, 400);
    assert.equal(errorCode(both.body), 'InvalidArgument');

    const otherRegion = { ...signed, authorization: signed.authorization!.replace('/us-east-1/', '/eu-west-1/') };
    const region = await send(server.port, { method: 'GET', path: '/bucket/ok', headers: otherRegion });
    assert.equal(region.status, 400);
    assert.equal(errorCode(region.body), 'AuthorizationHeaderMalformed');
    assert.match(region.body, /<Region>us-east-1<\/Region>/);
  });

  it('an unexpected error is a 500 InternalError that leaks nothing, and is logged', async () => {
    const res = await signedSend('GET', '/bucket/boom', { 'x-amz-content-sha256': sha256('') });
    assert.equal(res.status, 500);
    assert.equal(errorCode(res.body), 'InternalError');
    assert.doesNotMatch(res.body, /internal detail/);
    assert.ok(server.logged.some((entry) => String((entry as { err?: Error }).err?.message).includes('internal detail')));
  });
});

describe('payload integrity', () => {
  it('x-amz-content-sha256 of other content → 400 XAmzContentSHA256Mismatch', async () => {
    await expectRefusedPut(
      signedSend('PUT', '/bucket/k4', { 'x-amz-content-sha256': sha256('something else') }, data),
      400,
      'XAmzContentSHA256Mismatch',
      'k4',
    );
  });

  it('a wrong Content-MD5 → 400 BadDigest; a malformed one → 400 InvalidDigest', async () => {
    await expectRefusedPut(
      signedSend('PUT', '/bucket/k5', { 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD', 'content-md5': md5b64('other') }, data),
      400,
      'BadDigest',
      'k5',
    );
    await expectRefusedPut(
      signedSend('PUT', '/bucket/k5', { 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD', 'content-md5': 'not-md5' }, data),
      400,
      'InvalidDigest',
      'k5',
    );
  });

  it('a wrong x-amz-checksum-crc32 → 400 BadDigest; a malformed one → 400 InvalidRequest', async () => {
    const res = await expectRefusedPut(
      signedSend(
        'PUT',
        '/bucket/k6',
        { 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD', 'x-amz-checksum-crc32': crc32b64(Buffer.from('other')) },
        data,
      ),
      400,
      'BadDigest',
      'k6',
    );
    assert.match(res.body, /The CRC32 you specified did not match the calculated checksum\./);
    const bad = await expectRefusedPut(
      signedSend('PUT', '/bucket/k6', { 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD', 'x-amz-checksum-crc32': 'AAAA' }, data),
      400,
      'InvalidRequest',
      'k6',
    );
    assert.match(bad.body, /Value for x-amz-checksum-crc32 header is invalid\./);
  });

  const trailerHeaders = (body: Buffer, decoded: number): Record<string, string> => ({
    'x-amz-content-sha256': 'STREAMING-UNSIGNED-PAYLOAD-TRAILER',
    'content-encoding': 'aws-chunked',
    'x-amz-decoded-content-length': String(decoded),
    'x-amz-trailer': 'x-amz-checksum-crc32',
    'content-length': String(body.length),
  });
  const unsignedChunked = (payload: Buffer, crc: string): Buffer =>
    Buffer.concat([
      Buffer.from(`${payload.length.toString(16)}\r\n`),
      payload,
      Buffer.from(`\r\n0\r\nx-amz-checksum-crc32:${crc}\r\n\r\n`),
    ]);

  it('STREAMING-UNSIGNED-PAYLOAD-TRAILER: the right CRC32 trailer is accepted, a wrong one → 400 BadDigest', async () => {
    const good = unsignedChunked(data, crc32b64(data));
    const ok = await signedSend('PUT', '/bucket/trailer-ok', trailerHeaders(good, data.length), good);
    assert.equal(ok.status, 200, ok.body);
    assert.equal(server.received.at(-1)!.sha256, sha256(data));

    const bad = unsignedChunked(data, crc32b64(Buffer.from('other')));
    await expectRefusedPut(
      signedSend('PUT', '/bucket/trailer-bad', trailerHeaders(bad, data.length), bad),
      400,
      'BadDigest',
      'trailer-bad',
    );
  });

  it('STREAMING-AWS4-HMAC-SHA256-PAYLOAD: signed chunks are accepted; a tampered chunk → 403, a cut body → 400', async () => {
    const date = new Date();
    const chunks = [Buffer.alloc(8192, 'x'), Buffer.alloc(8192, 'y'), Buffer.from('tail')];
    const payload = Buffer.concat(chunks);
    const frameOf = (c: Buffer, sig: string): Buffer => Buffer.from(`${c.length.toString(16)};chunk-signature=${sig}\r\n`);
    // tamper: replace the second chunk's data after signing; cut: leave out the final zero-length chunk.
    const build = async (variant: 'good' | 'tamper' | 'cut'): Promise<{ headers: Record<string, string>; body: Buffer }> => {
      const all = variant === 'cut' ? chunks : [...chunks, Buffer.alloc(0)];
      // Frame sizes do not depend on the signature values, so Content-Length is known before signing.
      const length = all.reduce((n, c) => n + frameOf(c, '0'.repeat(64)).length + c.length + 2, 0);
      const headers = {
        'x-amz-content-sha256': 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD',
        'content-encoding': 'aws-chunked',
        'x-amz-decoded-content-length': String(payload.length),
        'content-length': String(length),
      };
      const signed = await signedHeaders(server.port, { method: 'PUT', path: '/bucket/signed-chunks', headers }, { date });
      let prior = /Signature=([0-9a-f]{64})/.exec(signed.authorization!)![1]!;
      const frames: Buffer[] = [];
      for (const [i, c] of all.entries()) {
        prior = await chunkSignature(c, prior, date);
        frames.push(frameOf(c, prior), variant === 'tamper' && i === 1 ? Buffer.alloc(c.length, 'z') : c, Buffer.from('\r\n'));
      }
      return { headers: signed, body: Buffer.concat(frames) };
    };

    const good = await build('good');
    const ok = await send(server.port, { method: 'PUT', path: '/bucket/signed-chunks', headers: good.headers, body: good.body });
    assert.equal(ok.status, 200, ok.body);
    assert.equal(server.received.at(-1)!.payloadMode, 'streaming-signed');
    assert.equal(server.received.at(-1)!.sha256, sha256(payload));
    server.objects.delete('bucket/signed-chunks');

    const tampered = await build('tamper');
    await expectRefusedPut(
      send(server.port, { method: 'PUT', path: '/bucket/signed-chunks', headers: tampered.headers, body: tampered.body }),
      403,
      'SignatureDoesNotMatch',
      'signed-chunks',
    );

    const cut = await build('cut');
    await expectRefusedPut(
      send(server.port, { method: 'PUT', path: '/bucket/signed-chunks', headers: cut.headers, body: cut.body }),
      400,
      'IncompleteBody',
      'signed-chunks',
    );
  });
});

describe('request limits', () => {
  it('a body that must carry an integrity header is refused without one, accepted with one', async () => {
    const xml = '<Delete><Object><Key>k</Key></Object></Delete>';
    const refused = await signedSend('POST', '/bucket?delete', { 'x-amz-content-sha256': sha256(xml) }, xml);
    assert.equal(refused.status, 400);
    assert.equal(errorCode(refused.body), 'InvalidRequest');
    assert.match(refused.body, /Content-MD5/);
    const ok = await signedSend('POST', '/bucket?delete', { 'x-amz-content-sha256': sha256(xml), 'content-md5': md5b64(xml) }, xml);
    assert.equal(ok.status, 200, ok.body);
    assert.equal(ok.body, xml);
  });

  it('a small body read whole: over its limit → 400 MaxMessageLengthExceeded', async () => {
    const big = 'x'.repeat(64 * 1024 + 1);
    const res = await signedSend('POST', '/bucket?delete', { 'x-amz-content-sha256': sha256(big), 'content-md5': md5b64(big) }, big);
    assert.equal(res.status, 400);
    assert.equal(errorCode(res.body), 'MaxMessageLengthExceeded');
  });

  it('a header section over 8 KiB → 400 RequestHeaderSectionTooLarge', async () => {
    const res = await send(server.port, { method: 'GET', path: '/bucket/ok', headers: { 'x-padding': 'p'.repeat(9000) } });
    assert.equal(res.status, 400);
    assert.equal(errorCode(res.body), 'RequestHeaderSectionTooLarge');
  });
});

describe('connections', () => {
  it('a client that disconnects mid-body: the body stream fails with IncompleteBody, nothing is stored', async () => {
    const signed = await signedHeaders(server.port, {
      method: 'PUT',
      path: '/bucket/aborted',
      headers: { 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD', 'content-length': '100000' },
    });
    const failure = once(server.events, 'failure');
    const socket = net.connect(server.port, '127.0.0.1');
    await once(socket, 'connect');
    const head = Object.entries(signed)
      .map(([k, v]) => `${k}: ${v}\r\n`)
      .join('');
    socket.write(`PUT /bucket/aborted HTTP/1.1\r\n${head}\r\n`);
    socket.write(Buffer.alloc(1000, 'a'));
    socket.destroy();
    const [err] = (await failure) as [unknown];
    assert.ok(err instanceof S3Error && err.code === 'IncompleteBody', String(err));
    assert.equal(server.objects.has('bucket/aborted'), false);
  });
});

const run = promisify(execFile);
const hasCurl = await run('curl', ['--version']).then(
  () => true,
  () => false,
);

describe('curl --aws-sigv4 (a generic SigV4 signer)', { skip: !hasCurl && 'curl is not installed' }, () => {
  const curl = async (...args: string[]): Promise<string> => {
    const { stdout } = await run('curl', [
      '-s',
      '-m',
      '10',
      '-w',
      '\n%{http_code}',
      '--aws-sigv4',
      'aws:amz:us-east-1:s3',
      '--user',
      `${ACCESS_KEY}:${SECRET_KEY}`,
      ...args,
    ]);
    return stdout;
  };

  it('GET without x-amz-content-sha256 verifies (no body: the empty hash)', async () => {
    const out = await curl(`http://127.0.0.1:${server.port}/bucket/ok`);
    assert.match(out, /\n200$/);
  });

  it('PUT with a body needs x-amz-content-sha256; with UNSIGNED-PAYLOAD it is accepted', async () => {
    assert.match(
      await curl('-X', 'PUT', '--data-binary', 'from curl', `http://127.0.0.1:${server.port}/bucket/curl`),
      /InvalidRequest[\s\S]*\n400$/,
    );
    assert.equal(server.objects.has('bucket/curl'), false);
    const out = await curl(
      '-X',
      'PUT',
      '--data-binary',
      'from curl',
      '-H',
      'x-amz-content-sha256: UNSIGNED-PAYLOAD',
      `http://127.0.0.1:${server.port}/bucket/curl`,
    );
    assert.match(out, /\n200$/);
    assert.equal(server.objects.get('bucket/curl')?.toString(), 'from curl');
  });
});

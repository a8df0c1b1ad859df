// Bucket CORS with Debian's AWS CLI: s3api put-bucket-cors / get-bucket-cors / delete-bucket-cors round
// trip, the CLI's refusals for invalid rules (nothing changed), and a browser-style preflight answered
// by the rules the CLI put. Not part of `npm test` (it needs /usr/bin/aws): `npm run test:awscli`.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CreateBucketCommand, GetBucketCorsCommand } from '@aws-sdk/client-s3';
import { ACCESS_KEY, SECRET_KEY, startStack, type Stack } from '../helpers/stack.js';
import { s3Error } from '../helpers/s3.js';
import { awsCli, AwsCliError, awsCliInstalled, type AwsCli } from './aws.js';

const B = 'cli-cors';
const APP = 'https://app.example';

const RULES = {
  CORSRules: [
    {
      ID: 'uploads',
      AllowedOrigins: [APP],
      AllowedMethods: ['PUT', 'POST'],
      AllowedHeaders: ['content-type', 'x-amz-*'],
      ExposeHeaders: ['ETag'],
      MaxAgeSeconds: 600,
    },
    { AllowedOrigins: ['*'], AllowedMethods: ['GET'] },
  ],
};

let st: Stack;
let aws: AwsCli;

before(async () => {
  assert.ok(awsCliInstalled(), "this suite needs Debian's awscli at /usr/bin/aws (apt-get install -y awscli)");
  st = await startStack();
  aws = awsCli({ accessKey: ACCESS_KEY, secretKey: SECRET_KEY, endpoint: st.gw.url, tlsEndpoint: st.gw.httpsUrl!, caPem: st.caPem });
  await st.s3.send(new CreateBucketCommand({ Bucket: B }));
});
after(async () => {
  aws?.close();
  await st?.close();
});

function configFile(name: string, config: unknown): string {
  const file = join(aws.dir, name);
  writeFileSync(file, JSON.stringify(config));
  return `file://${file}`;
}

async function failure(p: Promise<unknown>): Promise<AwsCliError> {
  try {
    await p;
  } catch (e) {
    if (e instanceof AwsCliError) return e;
    throw e;
  }
  throw new Error('expected the aws command to fail, it succeeded');
}

describe('aws s3api *-bucket-cors', () => {
  test('get-bucket-cors without rules fails with NoSuchCORSConfiguration', async () => {
    const err = await failure(aws.run(['s3api', 'get-bucket-cors', '--bucket', B]));
    assert.match(err.stderr, /NoSuchCORSConfiguration/);
    assert.match(err.stderr, /The CORS configuration does not exist/);
  });

  test('put-bucket-cors, then get-bucket-cors gives the rules back as put', async () => {
    await aws.run(['s3api', 'put-bucket-cors', '--bucket', B, '--cors-configuration', configFile('cors.json', RULES)]);
    const got = await aws.json<typeof RULES>(['s3api', 'get-bucket-cors', '--bucket', B]);
    assert.deepEqual(got, RULES);
  });

  test('the rules the CLI put answer a browser preflight', async () => {
    const res = await fetch(`${st.gw.url}/${B}/photo.jpg`, {
      method: 'OPTIONS',
      headers: { Origin: APP, 'Access-Control-Request-Method': 'PUT', 'Access-Control-Request-Headers': 'content-type' },
    });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('access-control-allow-origin'), APP);
    assert.equal(res.headers.get('access-control-allow-methods'), 'PUT, POST');
    assert.equal(res.headers.get('access-control-allow-headers'), 'content-type');
    assert.equal(res.headers.get('access-control-max-age'), '600');
  });

  test('invalid rules: the CLI reports InvalidRequest / MalformedXML and the rules stay as they were', async () => {
    const patch = await failure(
      aws.run([
        's3api',
        'put-bucket-cors',
        '--bucket',
        B,
        '--cors-configuration',
        configFile('patch.json', { CORSRules: [{ AllowedOrigins: [APP], AllowedMethods: ['PATCH'] }] }),
      ]),
    );
    assert.match(patch.stderr, /\(InvalidRequest\)/);
    assert.match(patch.stderr, /Unsupported method is PATCH/);
    const wildcards = await failure(
      aws.run([
        's3api',
        'put-bucket-cors',
        '--bucket',
        B,
        '--cors-configuration',
        configFile('wild.json', { CORSRules: [{ AllowedOrigins: ['*.*'], AllowedMethods: ['GET'] }] }),
      ]),
    );
    assert.match(wildcards.stderr, /\(InvalidRequest\)/);
    assert.match(wildcards.stderr, /can not have more than one wildcard/);
    const empty = await failure(
      aws.run(['s3api', 'put-bucket-cors', '--bucket', B, '--cors-configuration', configFile('empty.json', { CORSRules: [] })]),
    );
    assert.match(empty.stderr, /\(MalformedXML\)/);
    assert.deepEqual(await aws.json(['s3api', 'get-bucket-cors', '--bucket', B]), RULES);
  });

  test('delete-bucket-cors removes the rules; the SDK agrees', async () => {
    await aws.run(['s3api', 'delete-bucket-cors', '--bucket', B]);
    const err = await failure(aws.run(['s3api', 'get-bucket-cors', '--bucket', B]));
    assert.match(err.stderr, /NoSuchCORSConfiguration/);
    const sdk = await s3Error(st.s3.send(new GetBucketCorsCommand({ Bucket: B })));
    assert.deepEqual([sdk.status, sdk.code], [404, 'NoSuchCORSConfiguration']);
  });
});

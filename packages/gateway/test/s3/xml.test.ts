import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  parseCompleteMultipartUpload,
  parseCreateBucketConfiguration,
  parseDeleteObjects,
  parseServerSideEncryptionConfiguration,
  parseXML,
  toXML,
} from '../../src/s3/xml.js';
import { renderError, S3Error } from '../../src/s3/errors.js';

function expectS3(fn: () => unknown, code: string, message?: RegExp): void {
  assert.throws(fn, (err: unknown) => err instanceof S3Error && err.code === code && (!message || message.test(err.message)));
}

describe('toXML', () => {
  it('writes the declaration, the S3 namespace, repeated elements, ISO dates, and escapes text', () => {
    const xml = toXML('ListBucketResult', {
      Name: 'bucket',
      Prefix: '',
      KeyCount: 2,
      IsTruncated: false,
      Skipped: undefined,
      Contents: [
        { Key: 'a&b<c>', ETag: '"abc"', LastModified: new Date('2024-01-02T03:04:05.678Z') },
        { Key: 'ctrl\u0001char', ETag: '"def"' },
      ],
    });
    assert.equal(
      xml,
      '<?xml version="1.0" encoding="UTF-8"?>\n' +
        '<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Name>bucket</Name><Prefix></Prefix><KeyCount>2</KeyCount><IsTruncated>false</IsTruncated>' +
        '<Contents><Key>a&amp;b&lt;c&gt;</Key><ETag>&quot;abc&quot;</ETag><LastModified>2024-01-02T03:04:05.678Z</LastModified></Contents>' +
        '<Contents><Key>ctrl&#x1;char</Key><ETag>&quot;def&quot;</ETag></Contents></ListBucketResult>',
    );
  });

  it('renders errors without a namespace, in AWS element order', () => {
    const err = new S3Error('NoSuchKey', undefined, { resource: '/b/k', extra: { Key: 'k' } });
    assert.equal(
      renderError(err, 'REQ1', 'HOST2'),
      '<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>NoSuchKey</Code><Message>The specified key does not exist.</Message>' +
        '<Resource>/b/k</Resource><Key>k</Key><RequestId>REQ1</RequestId><HostId>HOST2</HostId></Error>',
    );
    assert.equal(err.status, 404);
  });
});

describe('parseXML', () => {
  it('keeps text as text and decodes entities', () => {
    const doc = parseXML('<A xmlns="x"><B>0123</B><C>&quot;q&quot; &amp; &lt;</C></A>');
    assert.deepEqual(doc.A, { B: '0123', C: '"q" & <' });
  });

  it("decodes numeric character references as Go's encoding/xml writes them (rclone, mc); refuses references to non-characters", () => {
    const doc = parseXML('<A><B>&#34;etag&#34;</B><C>&#x22;q&#x22; &#39;&#x9;&#xA;&#x1F600;</C><D>&#38;amp;</D></A>');
    assert.deepEqual(doc.A, { B: '"etag"', C: '"q" \'\t\n\u{1F600}', D: '&amp;' });
    for (const bad of ['&#0;', '&#x0;', '&#xD800;', '&#xFFFE;', '&#1114112;', '&#8;']) {
      expectS3(() => parseXML(`<A><Key>a${bad}b</Key></A>`), 'MalformedXML', /does not allow/);
    }
  });

  it('refuses malformed XML and DOCTYPE declarations with MalformedXML', () => {
    expectS3(() => parseXML('<A><B></A>'), 'MalformedXML');
    expectS3(() => parseXML(''), 'MalformedXML');
    expectS3(() => parseXML('not xml'), 'MalformedXML');
    expectS3(() => parseXML('<?xml version="1.0"?><!DOCTYPE a [<!ENTITY x "y">]><A>&x;</A>'), 'MalformedXML', /DOCTYPE/);
  });
});

describe('CompleteMultipartUpload', () => {
  it('parses parts as SDK v3 (entity-quoted ETags) and botocore (literal quotes) send them', () => {
    const body = `<?xml version="1.0" encoding="UTF-8"?>
<CompleteMultipartUpload xmlns="http://s3.amazonaws.com/doc/2006-03-01/">
  <Part><ETag>&quot;aaa&quot;</ETag><PartNumber>1</PartNumber><ChecksumCRC32>AAAAAA==</ChecksumCRC32></Part>
  <Part><ETag>"bbb"</ETag><PartNumber>02</PartNumber></Part>
  <Part><ETag>ccc</ETag><PartNumber>10000</PartNumber></Part>
</CompleteMultipartUpload>`;
    assert.deepEqual(parseCompleteMultipartUpload(body), [
      { partNumber: 1, etag: 'aaa', checksums: { crc32: 'AAAAAA==' } },
      { partNumber: 2, etag: 'bbb', checksums: {} },
      { partNumber: 10000, etag: 'ccc', checksums: {} },
    ]);
    // A single part is still a list.
    assert.equal(
      parseCompleteMultipartUpload(
        '<CompleteMultipartUpload><Part><ETag>x</ETag><PartNumber>1</PartNumber></Part></CompleteMultipartUpload>',
      ).length,
      1,
    );
  });

  it('parses parts as Go clients send them (rclone, mc: quotes as &#34;)', () => {
    const body =
      '<CompleteMultipartUpload xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Part><ETag>&#34;a1390d36&#34;</ETag><PartNumber>1</PartNumber></Part></CompleteMultipartUpload>';
    assert.deepEqual(parseCompleteMultipartUpload(body), [{ partNumber: 1, etag: 'a1390d36', checksums: {} }]);
  });

  it('refuses empty lists, missing fields, bad numbers and wrong order', () => {
    const part = (n: string, etag = '<ETag>x</ETag>'): string => `<Part>${etag}<PartNumber>${n}</PartNumber></Part>`;
    const doc = (parts: string): string => `<CompleteMultipartUpload>${parts}</CompleteMultipartUpload>`;
    expectS3(() => parseCompleteMultipartUpload(doc('')), 'MalformedXML');
    expectS3(() => parseCompleteMultipartUpload('<Other/>'), 'MalformedXML');
    expectS3(() => parseCompleteMultipartUpload(doc(part('1', ''))), 'MalformedXML');
    expectS3(() => parseCompleteMultipartUpload(doc(part('0'))), 'InvalidArgument');
    expectS3(() => parseCompleteMultipartUpload(doc(part('10001'))), 'InvalidArgument');
    expectS3(() => parseCompleteMultipartUpload(doc(part('-1'))), 'InvalidArgument');
    expectS3(() => parseCompleteMultipartUpload(doc(part('2') + part('1'))), 'InvalidPartOrder');
    expectS3(() => parseCompleteMultipartUpload(doc(part('1') + part('1'))), 'InvalidPartOrder');
  });
});

describe('Delete (DeleteObjects)', () => {
  it('keeps keys exactly, whitespace and entities included', () => {
    const body =
      '<Delete xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Quiet>true</Quiet><Object><Key> a &amp; b </Key></Object><Object><Key>0123</Key><VersionId>v1</VersionId></Object></Delete>';
    assert.deepEqual(parseDeleteObjects(body), { quiet: true, objects: [{ key: ' a & b ' }, { key: '0123', versionId: 'v1' }] });
    assert.equal(parseDeleteObjects('<Delete><Object><Key>k</Key></Object></Delete>').quiet, false);
  });

  it('refuses no objects, more than 1000, an empty key, and a bad Quiet', () => {
    expectS3(() => parseDeleteObjects('<Delete></Delete>'), 'MalformedXML');
    expectS3(() => parseDeleteObjects(`<Delete>${'<Object><Key>k</Key></Object>'.repeat(1001)}</Delete>`), 'MalformedXML', /1000/);
    expectS3(() => parseDeleteObjects('<Delete><Object><Key></Key></Object></Delete>'), 'MalformedXML');
    expectS3(() => parseDeleteObjects('<Delete><Quiet>yes</Quiet><Object><Key>k</Key></Object></Delete>'), 'MalformedXML');
  });
});

describe('ServerSideEncryptionConfiguration', () => {
  const doc = (inner: string, bucketKey = ''): string =>
    `<ServerSideEncryptionConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Rule><ApplyServerSideEncryptionByDefault>${inner}</ApplyServerSideEncryptionByDefault>${bucketKey}</Rule></ServerSideEncryptionConfiguration>`;

  it('reads AES256 and aws:kms with a key id', () => {
    assert.deepEqual(parseServerSideEncryptionConfiguration(doc('<SSEAlgorithm>AES256</SSEAlgorithm>')), { sseAlgorithm: 'AES256' });
    assert.deepEqual(
      parseServerSideEncryptionConfiguration(
        doc('<SSEAlgorithm>aws:kms</SSEAlgorithm><KMSMasterKeyID>my-key</KMSMasterKeyID>', '<BucketKeyEnabled>true</BucketKeyEnabled>'),
      ),
      { sseAlgorithm: 'aws:kms', kmsMasterKeyId: 'my-key', bucketKeyEnabled: true },
    );
  });

  it('refuses unknown algorithms, a key id with AES256, and structural errors', () => {
    expectS3(() => parseServerSideEncryptionConfiguration(doc('<SSEAlgorithm>DES</SSEAlgorithm>')), 'InvalidArgument');
    expectS3(
      () => parseServerSideEncryptionConfiguration(doc('<SSEAlgorithm>AES256</SSEAlgorithm><KMSMasterKeyID>k</KMSMasterKeyID>')),
      'InvalidArgument',
    );
    expectS3(() => parseServerSideEncryptionConfiguration(doc('')), 'MalformedXML');
    expectS3(
      () => parseServerSideEncryptionConfiguration('<ServerSideEncryptionConfiguration></ServerSideEncryptionConfiguration>'),
      'MalformedXML',
    );
  });
});

describe('CreateBucketConfiguration', () => {
  it('accepts an empty body or a LocationConstraint', () => {
    assert.deepEqual(parseCreateBucketConfiguration(''), {});
    assert.deepEqual(
      parseCreateBucketConfiguration(
        '<CreateBucketConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><LocationConstraint>eu-west-1</LocationConstraint></CreateBucketConfiguration>',
      ),
      { locationConstraint: 'eu-west-1' },
    );
    expectS3(() => parseCreateBucketConfiguration('<CreateBucketConfiguration><LocationConstraint>'), 'MalformedXML');
  });
});

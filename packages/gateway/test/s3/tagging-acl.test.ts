// The parsers behind tagging and ACLs, on the edge cases a client seldom sends: form decoding of
// x-amz-tagging, UTF-16 lengths, grantee lists in x-amz-grant-* headers, AccessControlPolicy bodies.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { aclOfHeaders, parseAccessControlPolicy } from '../../src/s3/acl.js';
import { S3Error } from '../../src/s3/errors.js';
import { parseTagging, parseTaggingHeader } from '../../src/s3/tagging.js';

function expectS3(fn: () => unknown, code: string): void {
  assert.throws(fn, (err: unknown) => err instanceof S3Error && err.code === code);
}

describe('x-amz-tagging', () => {
  it('is form-encoded: + is a space, %2B a plus, a key alone has an empty value, order is kept', () => {
    assert.deepEqual(parseTaggingHeader('b=x+y&a=1%2B1&flag&c=%C3%A4%2F'), [
      { key: 'b', value: 'x y' },
      { key: 'a', value: '1+1' },
      { key: 'flag', value: '' },
      { key: 'c', value: 'ä/' },
    ]);
    assert.deepEqual(parseTaggingHeader(''), []);
  });

  it('counts lengths in UTF-16 code units, as S3 does', () => {
    const wide = '\u{20000}'; // a CJK letter outside the BMP: two UTF-16 code units
    assert.equal(wide.length, 2);
    assert.deepEqual(parseTaggingHeader(`${encodeURIComponent(wide.repeat(64))}=v`), [{ key: wide.repeat(64), value: 'v' }]);
    expectS3(() => parseTaggingHeader(`${encodeURIComponent(wide.repeat(64))}x=v`), 'InvalidTag');
    // An emoji is a symbol, not a letter or number: outside the characters tags may hold.
    expectS3(() => parseTaggingHeader(`k=${encodeURIComponent('\u{1F600}')}`), 'InvalidTag');
  });

  it('refuses bad encoding, repeated keys and raw = inside a pair with InvalidArgument', () => {
    for (const v of ['a=%ZZ', 'a=1&a=2', 'k=a=b', '=v']) expectS3(() => parseTaggingHeader(v), 'InvalidArgument');
  });
});

describe('Tagging documents', () => {
  it('keeps keys and values exactly, decodes character references, allows an empty value', () => {
    const tags = parseTagging(
      '<Tagging><TagSet><Tag><Key> a b </Key><Value/></Tag><Tag><Key>&#x4E2D;</Key><Value>x</Value></Tag></TagSet></Tagging>',
      'object',
    );
    assert.deepEqual(tags, [
      { key: ' a b ', value: '' },
      { key: '中', value: 'x' },
    ]);
  });

  it('needs a TagSet, and a Key and a Value in every Tag', () => {
    expectS3(() => parseTagging('<Tagging/>', 'object'), 'MalformedXML');
    expectS3(() => parseTagging('<Tagging><TagSet><Tag><Value>v</Value></Tag></TagSet></Tagging>', 'bucket'), 'MalformedXML');
  });
});

describe('ACLs', () => {
  const OWNER = 'owner-id';
  const headers = (h: Record<string, string>) => (name: string) => h[name];

  it('owner-only: private, bucket-owner-full-control, or grants to the owner that include FULL_CONTROL', () => {
    assert.equal(aclOfHeaders(headers({}), OWNER), undefined);
    assert.equal(aclOfHeaders(headers({ 'x-amz-acl': 'private' }), OWNER), 'owner-only');
    assert.equal(aclOfHeaders(headers({ 'x-amz-acl': 'bucket-owner-full-control' }), OWNER), 'owner-only');
    assert.equal(
      aclOfHeaders(headers({ 'x-amz-grant-full-control': `id="${OWNER}"`, 'x-amz-grant-read-acp': `ID=${OWNER}` }), OWNER),
      'owner-only',
    );
  });

  it('anything else grants others', () => {
    const cases: Record<string, string>[] = [
      { 'x-amz-acl': 'public-read' },
      { 'x-amz-acl': 'bucket-owner-read' },
      { 'x-amz-grant-read': `id="${OWNER}"` },
      { 'x-amz-grant-full-control': `id="${OWNER}", emailAddress="x@example.com"` },
      { 'x-amz-grant-write': 'uri="http://acs.amazonaws.com/groups/s3/LogDelivery"' },
    ];
    for (const h of cases) {
      assert.equal(aclOfHeaders(headers(h), OWNER), 'grants-others', JSON.stringify(h));
    }
  });

  it('refuses an unknown canned ACL, a malformed grantee, and both forms at once', () => {
    expectS3(() => aclOfHeaders(headers({ 'x-amz-acl': 'public' }), OWNER), 'InvalidArgument');
    expectS3(() => aclOfHeaders(headers({ 'x-amz-grant-read': 'someone' }), OWNER), 'InvalidArgument');
    expectS3(() => aclOfHeaders(headers({ 'x-amz-acl': 'private', 'x-amz-grant-read': `id=${OWNER}` }), OWNER), 'InvalidRequest');
  });

  it('reads AccessControlPolicy bodies; every malformed one is MalformedACLError', () => {
    const grant = (grantee: string, permission = 'FULL_CONTROL') =>
      `<Grant><Grantee>${grantee}</Grantee><Permission>${permission}</Permission></Grant>`;
    const policy = (...grants: string[]) =>
      `<AccessControlPolicy><AccessControlList>${grants.join('')}</AccessControlList></AccessControlPolicy>`;
    assert.equal(parseAccessControlPolicy(policy(grant(`<ID>${OWNER}</ID>`)), OWNER), 'owner-only');
    assert.equal(
      parseAccessControlPolicy(
        policy(grant(`<ID>${OWNER}</ID>`), grant('<URI>http://acs.amazonaws.com/groups/global/AllUsers</URI>', 'READ')),
        OWNER,
      ),
      'grants-others',
    );
    assert.equal(parseAccessControlPolicy(policy(), OWNER), 'grants-others', "an empty ACL would take the owner's FULL_CONTROL away");
    for (const body of [
      '<AccessControlPolicy>',
      policy(grant(`<ID>${OWNER}</ID>`, 'ALL')),
      '<Tagging/>',
      policy(...Array.from({ length: 101 }, () => grant(`<ID>${OWNER}</ID>`))),
    ]) {
      expectS3(() => parseAccessControlPolicy(body, OWNER), 'MalformedACLError');
    }
  });
});

// The CORS module on its own: the CORSConfiguration document (what PutBucketCors accepts and refuses,
// what GetBucketCors writes), the choice of a rule, and the answers to preflights and actual requests.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  actualRequestHeaders,
  answerPreflight,
  CORS_VARY,
  corsConfigurationXml,
  matchCorsRule,
  parseCorsConfiguration,
  requestHeaderList,
  wildcardMatch,
  type CorsRule,
  type PreflightRequest,
} from '../../src/s3/cors.js';
import { S3Error } from '../../src/s3/errors.js';
import { toXML } from '../../src/s3/xml.js';

const NS = 'http://s3.amazonaws.com/doc/2006-03-01/';
const MINIMAL = '<AllowedOrigin>https://app.example</AllowedOrigin><AllowedMethod>GET</AllowedMethod>';
const doc = (...rules: string[]): string =>
  `<CORSConfiguration xmlns="${NS}">${rules.map((r) => `<CORSRule>${r}</CORSRule>`).join('')}</CORSConfiguration>`;
const rule = (fields: Partial<CorsRule> = {}): CorsRule => ({
  allowedOrigins: ['*'],
  allowedMethods: ['GET'],
  allowedHeaders: [],
  exposeHeaders: [],
  ...fields,
});

function refusal(fn: () => unknown): { code: string; message: string; extra?: Record<string, string> } {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof S3Error, `expected an S3Error, got ${String(err)}`);
    return { code: err.code, message: err.message, ...(err.extra ? { extra: err.extra } : {}) };
  }
  assert.fail('expected a refusal');
}

describe('parseCorsConfiguration', () => {
  it('reads every element of every rule, values exactly as sent', () => {
    const rules = parseCorsConfiguration(`<?xml version="1.0" encoding="UTF-8"?>
<CORSConfiguration xmlns="${NS}">
  <CORSRule>
    <ID>upload rule &amp; more</ID>
    <AllowedOrigin>https://app.example</AllowedOrigin>
    <AllowedOrigin>https://*.Example.org</AllowedOrigin>
    <AllowedMethod>PUT</AllowedMethod>
    <AllowedMethod>POST</AllowedMethod>
    <AllowedHeader>Content-Type</AllowedHeader>
    <AllowedHeader>x-amz-*</AllowedHeader>
    <ExposeHeader>ETag</ExposeHeader>
    <MaxAgeSeconds>3000</MaxAgeSeconds>
  </CORSRule>
  <CORSRule><AllowedMethod>GET</AllowedMethod><AllowedOrigin>*</AllowedOrigin><AllowedOrigin></AllowedOrigin></CORSRule>
</CORSConfiguration>`);
    assert.deepEqual(rules, [
      {
        id: 'upload rule & more',
        allowedOrigins: ['https://app.example', 'https://*.Example.org'],
        allowedMethods: ['PUT', 'POST'],
        allowedHeaders: ['Content-Type', 'x-amz-*'],
        exposeHeaders: ['ETag'],
        maxAgeSeconds: 3000,
      },
      { allowedOrigins: ['*', ''], allowedMethods: ['GET'], allowedHeaders: [], exposeHeaders: [] },
    ]);
  });

  it('accepts a namespace prefix, no namespace, 100 rules, MaxAgeSeconds 0 and 2^31-1, an ID of 255 characters', () => {
    assert.equal(
      parseCorsConfiguration(
        `<s:CORSConfiguration xmlns:s="${NS}"><s:CORSRule><s:AllowedOrigin>*</s:AllowedOrigin><s:AllowedMethod>GET</s:AllowedMethod></s:CORSRule></s:CORSConfiguration>`,
      ).length,
      1,
    );
    assert.equal(parseCorsConfiguration(`<CORSConfiguration><CORSRule>${MINIMAL}</CORSRule></CORSConfiguration>`).length, 1);
    assert.equal(parseCorsConfiguration(doc(...Array.from({ length: 100 }, () => MINIMAL))).length, 100);
    assert.equal(parseCorsConfiguration(doc(`${MINIMAL}<MaxAgeSeconds>0</MaxAgeSeconds>`))[0]!.maxAgeSeconds, 0);
    assert.equal(parseCorsConfiguration(doc(`${MINIMAL}<MaxAgeSeconds>2147483647</MaxAgeSeconds>`))[0]!.maxAgeSeconds, 2147483647);
    assert.equal(parseCorsConfiguration(doc(`${MINIMAL}<ID>${'i'.repeat(255)}</ID>`))[0]!.id, 'i'.repeat(255));
    // One wildcard anywhere in an origin or a header is fine.
    assert.deepEqual(
      parseCorsConfiguration(
        doc(`<AllowedOrigin>http*</AllowedOrigin><AllowedMethod>GET</AllowedMethod><AllowedHeader>*-type</AllowedHeader>`),
      )[0]!.allowedHeaders,
      ['*-type'],
    );
  });

  it('refuses a malformed document with MalformedXML', () => {
    const cases: [string, string][] = [
      ['empty body', ''],
      ['not XML', 'AllowedOrigin: *'],
      ['unclosed element', `<CORSConfiguration><CORSRule>${MINIMAL}</CORSConfiguration>`],
      ['another root', `<CORSRules><CORSRule>${MINIMAL}</CORSRule></CORSRules>`],
      ['two roots', `${doc(MINIMAL)}<Other/>`],
      ['no rule', doc()],
      ['empty root', '<CORSConfiguration/>'],
      ['101 rules', doc(...Array.from({ length: 101 }, () => MINIMAL))],
      ['unknown element beside the rules', `<CORSConfiguration><CORSRule>${MINIMAL}</CORSRule><Owner>x</Owner></CORSConfiguration>`],
      ['text beside the rules', `<CORSConfiguration>text<CORSRule>${MINIMAL}</CORSRule></CORSConfiguration>`],
      ['empty rule', doc('')],
      ['no AllowedOrigin', doc('<AllowedMethod>GET</AllowedMethod>')],
      ['no AllowedMethod', doc('<AllowedOrigin>*</AllowedOrigin>')],
      ['a later rule without AllowedMethod', doc(MINIMAL, '<AllowedOrigin>*</AllowedOrigin>')],
      ['unknown element in a rule', doc(`${MINIMAL}<AllowedHeaders>*</AllowedHeaders>`)],
      ['element name in another case', doc(`${MINIMAL}<allowedheader>*</allowedheader>`)],
      ['an element inside a value', doc('<AllowedOrigin><O>*</O></AllowedOrigin><AllowedMethod>GET</AllowedMethod>')],
      ['text in a rule', doc(`${MINIMAL}text`)],
      ['MaxAgeSeconds empty', doc(`${MINIMAL}<MaxAgeSeconds></MaxAgeSeconds>`)],
      ['MaxAgeSeconds negative', doc(`${MINIMAL}<MaxAgeSeconds>-1</MaxAgeSeconds>`)],
      ['MaxAgeSeconds fraction', doc(`${MINIMAL}<MaxAgeSeconds>1.5</MaxAgeSeconds>`)],
      ['MaxAgeSeconds beyond 32 bits', doc(`${MINIMAL}<MaxAgeSeconds>2147483648</MaxAgeSeconds>`)],
      ['MaxAgeSeconds twice', doc(`${MINIMAL}<MaxAgeSeconds>1</MaxAgeSeconds><MaxAgeSeconds>1</MaxAgeSeconds>`)],
      ['ID twice', doc(`${MINIMAL}<ID>a</ID><ID>b</ID>`)],
      ['ID of 256 characters', doc(`${MINIMAL}<ID>${'i'.repeat(256)}</ID>`)],
      ['a DOCTYPE', `<!DOCTYPE x>${doc(MINIMAL)}`],
    ];
    for (const [what, body] of cases) assert.equal(refusal(() => parseCorsConfiguration(body)).code, 'MalformedXML', what);
  });

  it('refuses an unsupported method with InvalidRequest, naming it as AWS does', () => {
    for (const method of ['OPTIONS', 'PATCH', 'get', ' GET', 'GET,PUT', '*', '']) {
      assert.deepEqual(
        refusal(() =>
          parseCorsConfiguration(
            doc(`<AllowedOrigin>*</AllowedOrigin><AllowedMethod>GET</AllowedMethod><AllowedMethod>${method}</AllowedMethod>`),
          ),
        ),
        {
          code: 'InvalidRequest',
          message: `Found unsupported HTTP method in CORS config. Unsupported method is ${method}`,
        },
      );
    }
  });

  it('refuses more than one wildcard in an AllowedOrigin or AllowedHeader, and any in an ExposeHeader', () => {
    const cases: [string, string][] = [
      [
        '<AllowedOrigin>https://*.example.*</AllowedOrigin><AllowedMethod>GET</AllowedMethod>',
        'AllowedOrigin "https://*.example.*" can not have more than one wildcard.',
      ],
      [`${MINIMAL}<AllowedHeader>x-*-meta-*</AllowedHeader>`, 'AllowedHeader "x-*-meta-*" can not have more than one wildcard.'],
      [
        `${MINIMAL}<ExposeHeader>x-amz-*</ExposeHeader>`,
        'ExposeHeader "x-amz-*" contains wildcard. We currently do not support wildcard for ExposeHeader.',
      ],
    ];
    for (const [content, message] of cases) {
      // In a later rule too: every rule is checked.
      assert.deepEqual(
        refusal(() => parseCorsConfiguration(doc(MINIMAL, content))),
        { code: 'InvalidRequest', message },
      );
    }
  });

  it('checks the shape of the whole document before the values', () => {
    const badMethod = '<AllowedOrigin>*</AllowedOrigin><AllowedMethod>PATCH</AllowedMethod>';
    assert.equal(refusal(() => parseCorsConfiguration(doc(badMethod, '<AllowedOrigin>*</AllowedOrigin>'))).code, 'MalformedXML');
    // And the methods before the origins.
    assert.match(
      refusal(() => parseCorsConfiguration(doc('<AllowedOrigin>*.*</AllowedOrigin><AllowedMethod>PATCH</AllowedMethod>'))).message,
      /Unsupported method is PATCH/,
    );
  });
});

describe('corsConfigurationXml', () => {
  it('writes the rules in AWS element order, and reads back as written', () => {
    const rules: CorsRule[] = [
      {
        id: 'r1',
        allowedOrigins: ['https://a.example', '*'],
        allowedMethods: ['GET', 'PUT'],
        allowedHeaders: ['*'],
        exposeHeaders: ['ETag', 'x-amz-request-id'],
        maxAgeSeconds: 0,
      },
      rule({ allowedOrigins: ['a&b'] }),
    ];
    const xml = toXML('CORSConfiguration', corsConfigurationXml(rules));
    assert.equal(
      xml,
      `<?xml version="1.0" encoding="UTF-8"?>\n<CORSConfiguration xmlns="${NS}">` +
        '<CORSRule><ID>r1</ID><AllowedMethod>GET</AllowedMethod><AllowedMethod>PUT</AllowedMethod>' +
        '<AllowedOrigin>https://a.example</AllowedOrigin><AllowedOrigin>*</AllowedOrigin><AllowedHeader>*</AllowedHeader>' +
        '<MaxAgeSeconds>0</MaxAgeSeconds><ExposeHeader>ETag</ExposeHeader><ExposeHeader>x-amz-request-id</ExposeHeader></CORSRule>' +
        '<CORSRule><AllowedMethod>GET</AllowedMethod><AllowedOrigin>a&amp;b</AllowedOrigin></CORSRule></CORSConfiguration>',
    );
    assert.deepEqual(parseCorsConfiguration(xml), rules);
  });
});

describe('matching', () => {
  it('a wildcard stands for any run of characters, none too, anchored at both ends', () => {
    const table: [string, string, boolean][] = [
      ['*', 'https://a.example', true],
      ['https://*.example.com', 'https://www.example.com', true],
      ['https://*.example.com', 'https://a.b.example.com', true],
      ['https://*.example.com', 'https://example.com', false],
      ['https://*.example.com', 'http://www.example.com', false],
      ['https://*.example.com', 'https://www.example.com.evil', false],
      ['https://example.com:*', 'https://example.com:8443', true],
      ['prefix*', 'prefix', true],
      ['*suffix', 'x.suffix.more', false],
      ['a*a', 'a', false],
      ['a*a', 'aa', true],
      ['https://example.com', 'https://example.com/', false],
      ['', '', true],
    ];
    for (const [pattern, value, expected] of table) assert.equal(wildcardMatch(pattern, value), expected, `${pattern} ~ ${value}`);
  });

  it('the first rule allowing origin, method and every requested header wins', () => {
    const exact = rule({ id: 'exact', allowedOrigins: ['https://app.example'], allowedMethods: ['GET', 'PUT'] });
    const headers = rule({ id: 'headers', allowedOrigins: ['https://*.example'], allowedHeaders: ['Content-Type', 'x-amz-*'] });
    const any = rule({ id: 'any', allowedMethods: ['GET', 'HEAD'] });
    const rules = [exact, headers, any];
    assert.equal(matchCorsRule(rules, 'https://app.example', 'GET')?.rule.id, 'exact');
    assert.equal(matchCorsRule(rules, 'https://app.example', 'PUT')?.rule.id, 'exact');
    assert.equal(matchCorsRule(rules, 'https://app.example', 'GET', ['x-amz-date', 'content-type'])?.rule.id, 'headers');
    assert.equal(matchCorsRule(rules, 'https://other.site', 'HEAD')?.rule.id, 'any');
    assert.equal(matchCorsRule(rules, 'https://other.site', 'PUT'), undefined);
    assert.equal(matchCorsRule(rules, 'https://other.site', 'GET', ['content-type']), undefined, 'the * rule allows no header');
    assert.equal(matchCorsRule(rules, 'https://app.example', 'GET', ['x-amz-date', 'authorization']), undefined);
    assert.equal(matchCorsRule([], 'https://app.example', 'GET'), undefined);
  });

  it('header names and origins compare without regard to case; methods exactly', () => {
    const r = rule({ allowedOrigins: ['https://App.Example'], allowedHeaders: ['X-Amz-*', 'content-TYPE'] });
    assert.ok(matchCorsRule([r], 'https://app.example', 'GET', ['x-amz-date', 'content-type']));
    assert.ok(matchCorsRule([r], 'HTTPS://APP.EXAMPLE', 'GET'));
    assert.equal(matchCorsRule([r], 'https://app.example', 'get'), undefined);
  });

  it('Allow-Origin is * only when the matching origin pattern is *; otherwise the origin with credentials', () => {
    assert.equal(matchCorsRule([rule()], 'https://x.example', 'GET')?.allowOrigin, '*');
    assert.equal(
      matchCorsRule([rule({ allowedOrigins: ['https://*.example', '*'] })], 'https://x.example', 'GET')?.allowOrigin,
      'https://x.example',
    );
    assert.equal(matchCorsRule([rule({ allowedOrigins: ['https://*.example', '*'] })], 'https://x.other', 'GET')?.allowOrigin, '*');
  });

  it('reads Access-Control-Request-Headers as a lowercase list', () => {
    assert.deepEqual(requestHeaderList('Content-Type,X-Amz-Date ,  x-amz-meta-Name, ,'), ['content-type', 'x-amz-date', 'x-amz-meta-name']);
    assert.deepEqual(requestHeaderList(undefined), []);
  });
});

describe('answerPreflight', () => {
  const upload = rule({
    allowedOrigins: ['https://app.example'],
    allowedMethods: ['PUT', 'POST'],
    allowedHeaders: ['content-type', 'x-amz-*'],
    exposeHeaders: ['ETag', 'x-amz-request-id'],
    maxAgeSeconds: 600,
  });
  const bucket = { exists: true as const, rules: [upload, rule({ allowedMethods: ['GET', 'HEAD'] })] };
  const req = (o: Partial<PreflightRequest>): PreflightRequest => ({
    origin: 'https://app.example',
    method: 'PUT',
    headers: undefined,
    onObject: true,
    ...o,
  });

  it('answers the matched rule: origin, its methods, the requested headers, exposed headers, max age, credentials, Vary', () => {
    assert.deepEqual(answerPreflight(req({ headers: 'Content-Type,X-Amz-Date' }), bucket), {
      'Access-Control-Allow-Origin': 'https://app.example',
      'Access-Control-Allow-Methods': 'PUT, POST',
      'Access-Control-Allow-Headers': 'content-type, x-amz-date',
      'Access-Control-Expose-Headers': 'ETag, x-amz-request-id',
      'Access-Control-Max-Age': '600',
      'Access-Control-Allow-Credentials': 'true',
      Vary: CORS_VARY,
    });
    assert.deepEqual(answerPreflight(req({ origin: 'https://elsewhere', method: 'GET' }), bucket), {
      'Access-Control-Allow-Origin': '*',
      'Access-Control-Allow-Methods': 'GET, HEAD',
      Vary: CORS_VARY,
    });
  });

  it('refuses as S3 does, in its order', () => {
    const notAllowed = /^CORSResponse: This CORS request is not allowed/;
    const cases: [string, PreflightRequest, Parameters<typeof answerPreflight>[1], string, RegExp, Record<string, string>?][] = [
      [
        'no Origin',
        req({ origin: undefined }),
        { exists: false },
        'BadRequest',
        /^Insufficient information\. Origin request header needed\.$/,
      ],
      ['empty Origin', req({ origin: '' }), bucket, 'BadRequest', /Origin request header needed/],
      [
        'no bucket',
        req({}),
        { exists: false },
        'AccessForbidden',
        /^CORSResponse: Bucket not found$/,
        { Method: 'PUT', ResourceType: 'BUCKET' },
      ],
      [
        'no configuration',
        req({ method: undefined }),
        { exists: true, rules: undefined },
        'AccessForbidden',
        /^CORSResponse: CORS is not enabled for this bucket\.$/,
        { Method: 'OPTIONS', ResourceType: 'BUCKET' },
      ],
      [
        'no Access-Control-Request-Method',
        req({ method: undefined }),
        bucket,
        'BadRequest',
        /^Invalid Access-Control-Request-Method: null$/,
      ],
      ['unknown method', req({ method: 'PATCH' }), bucket, 'BadRequest', /^Invalid Access-Control-Request-Method: PATCH$/],
      [
        'origin not allowed',
        req({ origin: 'https://evil.example' }),
        bucket,
        'AccessForbidden',
        notAllowed,
        { Method: 'PUT', ResourceType: 'OBJECT' },
      ],
      ['method not allowed', req({ method: 'DELETE' }), bucket, 'AccessForbidden', notAllowed],
      ['header not allowed', req({ headers: 'content-type, authorization' }), bucket, 'AccessForbidden', notAllowed],
      [
        'on the bucket',
        req({ origin: 'https://evil.example', onObject: false }),
        bucket,
        'AccessForbidden',
        notAllowed,
        { Method: 'PUT', ResourceType: 'BUCKET' },
      ],
    ];
    for (const [what, request, b, code, message, extra] of cases) {
      const r = refusal(() => answerPreflight(request, b));
      assert.equal(r.code, code, what);
      assert.match(r.message, message, what);
      if (extra) assert.deepEqual(r.extra, extra, what);
    }
  });
});

describe('actualRequestHeaders', () => {
  it('matches by origin and method, without Allow-Headers; nothing when no rule allows the request', () => {
    const rules = [rule({ allowedOrigins: ['https://app.example'], allowedMethods: ['GET'], exposeHeaders: ['ETag'], maxAgeSeconds: 60 })];
    assert.deepEqual(actualRequestHeaders(rules, 'https://app.example', 'GET'), {
      'Access-Control-Allow-Origin': 'https://app.example',
      'Access-Control-Allow-Methods': 'GET',
      'Access-Control-Expose-Headers': 'ETag',
      'Access-Control-Max-Age': '60',
      'Access-Control-Allow-Credentials': 'true',
      Vary: CORS_VARY,
    });
    assert.equal(actualRequestHeaders(rules, 'https://app.example', 'PUT'), undefined);
    assert.equal(actualRequestHeaders(rules, 'https://evil.example', 'GET'), undefined);
  });
});

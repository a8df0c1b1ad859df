// A bucket's CORS rules as S3 has them: the CORSConfiguration document (PutBucketCors/GetBucketCors),
// the choice of the rule that allows a request, and the Access-Control-* headers of the answer to a
// preflight (OPTIONS) and to an actual cross-origin request. Pure functions; the HTTP glue is in
// http/cors.ts.
import type { CorsRule } from '../storage/types.js';
import { S3Error } from './errors.js';
import { parseXML, type XmlNode } from './xml.js';

export type { CorsRule };

/** The only methods a rule may allow (AWS refuses any other, OPTIONS included). */
const CORS_METHODS: readonly string[] = ['GET', 'PUT', 'POST', 'DELETE', 'HEAD'];
const MAX_CORS_RULES = 100;
/** AWS limits the document to 64 KB. */
export const MAX_CORS_DOCUMENT_BYTES = 64 * 1024;
const MAX_ID_LENGTH = 255;
const MAX_AGE_LIMIT = 2 ** 31 - 1;

const ROOT = 'CORSConfiguration';
const RULE = 'CORSRule';
const LISTS = ['AllowedOrigin', 'AllowedMethod', 'AllowedHeader', 'ExposeHeader'] as const;
const SINGLES = ['ID', 'MaxAgeSeconds'] as const;
const RULE_ELEMENTS = new Set<string>([...LISTS, ...SINGLES]);

// ---------------------------------------------------------------- the document

function malformed(message: string): S3Error {
  return new S3Error('MalformedXML', message);
}

/** Text between elements (the parser keeps it as `#text`) may only be whitespace. */
function onlyElements(node: XmlNode, where: string, allowed: (name: string) => boolean): void {
  for (const [name, value] of Object.entries(node)) {
    if (name === '#text') {
      if (typeof value !== 'string' || value.trim() !== '') throw malformed(`${where} may not contain text outside its elements.`);
    } else if (!allowed(name)) {
      throw malformed(`${where} may not contain <${name}>.`);
    }
  }
}

/** The texts of every `name` child (always an array: the parser is told these repeat). */
function texts(rule: XmlNode, name: string): string[] {
  const v = rule[name];
  if (v === undefined) return [];
  const list = Array.isArray(v) ? v : [v];
  return list.map((item) => {
    if (typeof item !== 'string') throw malformed(`<${name}> must contain text only.`);
    return item;
  });
}

function parseRule(raw: unknown, index: number): CorsRule {
  const where = `${RULE} #${index + 1}`;
  let node: XmlNode;
  if (typeof raw === 'string') {
    if (raw.trim() !== '') throw malformed(`${where} must contain elements, not text.`);
    node = {};
  } else if (raw !== null && typeof raw === 'object' && !Array.isArray(raw)) {
    node = raw as XmlNode;
  } else {
    throw malformed(`${where} must contain elements.`);
  }
  onlyElements(node, where, (name) => RULE_ELEMENTS.has(name));
  const allowedOrigins = texts(node, 'AllowedOrigin');
  const allowedMethods = texts(node, 'AllowedMethod');
  if (allowedOrigins.length === 0) throw malformed(`${where} needs at least one <AllowedOrigin>.`);
  if (allowedMethods.length === 0) throw malformed(`${where} needs at least one <AllowedMethod>.`);
  const ids = texts(node, 'ID');
  if (ids.length > 1) throw malformed(`${where} may have at most one <ID>.`);
  if (ids.length === 1 && ids[0]!.length > MAX_ID_LENGTH)
    throw malformed(`${where}: <ID> may be at most ${MAX_ID_LENGTH} characters long.`);
  const ages = texts(node, 'MaxAgeSeconds');
  if (ages.length > 1) throw malformed(`${where} may have at most one <MaxAgeSeconds>.`);
  const age = ages[0]?.trim();
  if (age !== undefined && (!/^\d{1,10}$/.test(age) || Number(age) > MAX_AGE_LIMIT)) {
    throw malformed(`${where}: <MaxAgeSeconds> must be an integer between 0 and ${MAX_AGE_LIMIT}; got "${ages[0]!.slice(0, 40)}".`);
  }
  return {
    ...(ids.length === 1 ? { id: ids[0]! } : {}),
    allowedOrigins,
    allowedMethods,
    allowedHeaders: texts(node, 'AllowedHeader'),
    exposeHeaders: texts(node, 'ExposeHeader'),
    ...(age !== undefined ? { maxAgeSeconds: Number(age) } : {}),
  };
}

const wildcards = (value: string): number => value.split('*').length - 1;

/** The checks AWS answers with InvalidRequest, in its order: methods, origins, headers, expose headers. */
function checkRule(rule: CorsRule): void {
  for (const method of rule.allowedMethods) {
    if (!CORS_METHODS.includes(method)) {
      throw new S3Error('InvalidRequest', `Found unsupported HTTP method in CORS config. Unsupported method is ${method}`);
    }
  }
  for (const origin of rule.allowedOrigins) {
    if (wildcards(origin) > 1) throw new S3Error('InvalidRequest', `AllowedOrigin "${origin}" can not have more than one wildcard.`);
  }
  for (const header of rule.allowedHeaders) {
    if (wildcards(header) > 1) throw new S3Error('InvalidRequest', `AllowedHeader "${header}" can not have more than one wildcard.`);
  }
  for (const header of rule.exposeHeaders) {
    if (header.includes('*')) {
      throw new S3Error(
        'InvalidRequest',
        `ExposeHeader "${header}" contains wildcard. We currently do not support wildcard for ExposeHeader.`,
      );
    }
  }
}

/**
 * Parses and validates a PutBucketCors body. The whole document's shape is checked first
 * (MalformedXML: another root, unknown elements, no rule or more than 100, a rule without
 * AllowedOrigin or AllowedMethod, a bad MaxAgeSeconds), then each rule's values (InvalidRequest).
 * Values are kept exactly as sent (AWS neither trims nor changes their case).
 */
export function parseCorsConfiguration(body: string | Buffer): CorsRule[] {
  const doc = parseXML(body, { arrays: [RULE, ...LISTS, ...SINGLES] });
  const roots = Object.keys(doc).filter((name) => name !== '#text');
  if (roots.length !== 1 || roots[0] !== ROOT) {
    throw malformed(`The document must have one root element, <${ROOT}>; found ${roots.map((n) => `<${n}>`).join(', ') || 'none'}.`);
  }
  const root = doc[ROOT];
  if (typeof root !== 'object' || root === null || Array.isArray(root)) {
    throw malformed(`<${ROOT}> must hold between 1 and ${MAX_CORS_RULES} <${RULE}> elements.`);
  }
  onlyElements(root as XmlNode, `<${ROOT}>`, (name) => name === RULE);
  const raw = ((root as XmlNode)[RULE] as unknown[] | undefined) ?? [];
  if (raw.length === 0 || raw.length > MAX_CORS_RULES) {
    throw malformed(`<${ROOT}> must hold between 1 and ${MAX_CORS_RULES} <${RULE}> elements; got ${raw.length}.`);
  }
  const rules = raw.map(parseRule);
  rules.forEach(checkRule);
  return rules;
}

/** The GetBucketCors document's content (for toXML under <CORSConfiguration>), elements in AWS's order. */
export function corsConfigurationXml(rules: readonly CorsRule[]): Record<string, unknown> {
  return {
    CORSRule: rules.map((r) => ({
      ID: r.id,
      AllowedMethod: r.allowedMethods,
      AllowedOrigin: r.allowedOrigins,
      AllowedHeader: r.allowedHeaders,
      MaxAgeSeconds: r.maxAgeSeconds === undefined ? undefined : String(r.maxAgeSeconds),
      ExposeHeader: r.exposeHeaders,
    })),
  };
}

// ---------------------------------------------------------------- matching

/** Does `value` match `pattern`, whose one optional `*` stands for any run of characters (none too)? */
export function wildcardMatch(pattern: string, value: string): boolean {
  const star = pattern.indexOf('*');
  if (star < 0) return pattern === value;
  const prefix = pattern.slice(0, star);
  const suffix = pattern.slice(star + 1);
  return value.length >= prefix.length + suffix.length && value.startsWith(prefix) && value.endsWith(suffix);
}

export interface CorsMatch {
  rule: CorsRule;
  /** What Access-Control-Allow-Origin says: `*` when the origin pattern that matched is `*`, else the request's origin. */
  allowOrigin: string;
}

/**
 * The first rule that allows `origin` with `method` and every one of `requestHeaders` (a preflight's
 * Access-Control-Request-Headers, lowercase), as S3 picks it. Origins and header names compare
 * without regard to case (hosts and header names are case-insensitive; browsers send them lowercase);
 * methods compare exactly.
 */
export function matchCorsRule(
  rules: readonly CorsRule[],
  origin: string,
  method: string,
  requestHeaders: readonly string[] = [],
): CorsMatch | undefined {
  const lowerOrigin = origin.toLowerCase();
  for (const rule of rules) {
    if (!rule.allowedMethods.includes(method)) continue;
    const pattern = rule.allowedOrigins.find((p) => wildcardMatch(p.toLowerCase(), lowerOrigin));
    if (pattern === undefined) continue;
    const allowed = rule.allowedHeaders.map((h) => h.trim().toLowerCase());
    if (!requestHeaders.every((h) => allowed.some((p) => wildcardMatch(p, h)))) continue;
    return { rule, allowOrigin: pattern === '*' ? '*' : origin };
  }
  return undefined;
}

/** Access-Control-Request-Headers as a list of lowercase names (empty items dropped). */
export function requestHeaderList(value: string | undefined): string[] {
  if (value === undefined) return [];
  return value
    .split(',')
    .map((h) => h.trim().toLowerCase())
    .filter((h) => h !== '');
}

export const CORS_VARY = 'Origin, Access-Control-Request-Headers, Access-Control-Request-Method';

/**
 * The Access-Control-* headers for a request a rule allowed. A preflight also answers the headers it
 * asked for (`allowHeaders`); an actual request gets the same set without them.
 */
function corsResponseHeaders(match: CorsMatch, allowHeaders?: readonly string[]): Record<string, string> {
  const { rule, allowOrigin } = match;
  const h: Record<string, string> = {
    'Access-Control-Allow-Origin': allowOrigin,
    'Access-Control-Allow-Methods': rule.allowedMethods.join(', '),
  };
  if (allowHeaders !== undefined && allowHeaders.length > 0) h['Access-Control-Allow-Headers'] = allowHeaders.join(', ');
  if (rule.exposeHeaders.length > 0) h['Access-Control-Expose-Headers'] = rule.exposeHeaders.join(', ');
  if (rule.maxAgeSeconds !== undefined) h['Access-Control-Max-Age'] = String(rule.maxAgeSeconds);
  // A browser sending credentials needs both the echoed origin and this; `*` cannot carry credentials.
  if (allowOrigin !== '*') h['Access-Control-Allow-Credentials'] = 'true';
  h.Vary = CORS_VARY;
  return h;
}

// ---------------------------------------------------------------- preflight

export interface PreflightRequest {
  origin: string | undefined;
  /** Access-Control-Request-Method */
  method: string | undefined;
  /** Access-Control-Request-Headers, as sent */
  headers: string | undefined;
  /** Whether the request names an object (ResourceType OBJECT) or only the bucket. */
  onObject: boolean;
}

/** What a preflight knows of its bucket: absent, present without rules, or its rules. */
export type PreflightBucket = { exists: false } | { exists: true; rules: readonly CorsRule[] | undefined };

const NOT_ALLOWED =
  "CORSResponse: This CORS request is not allowed. This is usually because the evalution of Origin, request method / Access-Control-Request-Method or Access-Control-Request-Headers are not whitelisted by the resource's CORS spec.";

function forbidden(message: string, method: string | undefined, resourceType: 'BUCKET' | 'OBJECT'): S3Error {
  return new S3Error('AccessForbidden', message, { extra: { Method: method ?? 'OPTIONS', ResourceType: resourceType } });
}

/**
 * Answers a preflight as S3 does, in its order: no Origin → 400 BadRequest; no such bucket or no
 * CORS configuration → 403 AccessForbidden; no or an unknown Access-Control-Request-Method → 400
 * BadRequest; no rule allowing origin, method and every requested header → 403 AccessForbidden.
 * Returns the response headers of a 200.
 */
export function answerPreflight(request: PreflightRequest, bucket: PreflightBucket): Record<string, string> {
  const { origin, method } = request;
  if (origin === undefined || origin === '') throw new S3Error('BadRequest', 'Insufficient information. Origin request header needed.');
  if (!bucket.exists) throw forbidden('CORSResponse: Bucket not found', method, 'BUCKET');
  if (bucket.rules === undefined) throw forbidden('CORSResponse: CORS is not enabled for this bucket.', method, 'BUCKET');
  if (method === undefined || !CORS_METHODS.includes(method)) {
    throw new S3Error('BadRequest', `Invalid Access-Control-Request-Method: ${method ?? 'null'}`);
  }
  const headers = requestHeaderList(request.headers);
  const match = matchCorsRule(bucket.rules, origin, method, headers);
  if (!match) throw forbidden(NOT_ALLOWED, method, request.onObject ? 'OBJECT' : 'BUCKET');
  return corsResponseHeaders(match, headers);
}

/**
 * The headers for an actual request (not a preflight) carrying `origin`, or undefined when no rule
 * allows it: S3 matches it by origin and method only, a real request's headers are not checked.
 */
export function actualRequestHeaders(rules: readonly CorsRule[], origin: string, method: string): Record<string, string> | undefined {
  const match = matchCorsRule(rules, origin, method);
  return match ? corsResponseHeaders(match) : undefined;
}

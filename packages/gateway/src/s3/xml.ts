// S3 XML in and out (fast-xml-parser 5), and typed parsers for the request bodies the gateway accepts.
import { XMLBuilder, XMLParser, XMLValidator, type EntityDecoderOptions } from 'fast-xml-parser';
import { S3Error } from './errors.js';
import { CHECKSUM_ALGORITHMS, type ChecksumAlgorithm, checksumXmlName } from './checksums.js';
import { unquoteETag } from '../storage/etag.js';
import { MAX_PART_NUMBER } from '../storage/validation.js';

const S3_NAMESPACE = 'http://s3.amazonaws.com/doc/2006-03-01/';
const XML_DECLARATION = '<?xml version="1.0" encoding="UTF-8"?>\n';

const builder = new XMLBuilder({
  ignoreAttributes: false,
  attributeNamePrefix: '@_',
  format: false,
  suppressEmptyNode: false,
  processEntities: true,
});

// XML 1.0 cannot carry these characters even escaped; AWS writes them as character references.
// eslint-disable-next-line no-control-regex
const XML_FORBIDDEN_CHARS = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]/g;

function normalise(value: unknown): unknown {
  if (value instanceof Date) return value.toISOString();
  if (Array.isArray(value)) return value.map(normalise);
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      if (v !== undefined && v !== null) out[k] = normalise(v);
    }
    return out;
  }
  return value;
}

/**
 * Renders `obj` as `<rootName>...</rootName>` with the XML declaration. Arrays become repeated
 * elements, Dates ISO 8601, `undefined`/`null` members are left out. The S3 namespace is added
 * unless `namespace: false` (AWS omits it on `<Error>`).
 */
export function toXML(rootName: string, obj: Record<string, unknown>, options: { namespace?: boolean } = {}): string {
  const root: Record<string, unknown> = {};
  if (options.namespace !== false) root['@_xmlns'] = S3_NAMESPACE;
  Object.assign(root, normalise(obj));
  const xml = builder.build({ [rootName]: root }) as string;
  return XML_DECLARATION + xml.replace(XML_FORBIDDEN_CHARS, (c) => `&#x${c.charCodeAt(0).toString(16).toUpperCase()};`);
}

export interface ParseOptions {
  /** Element names that are always arrays, even with one occurrence. */
  arrays?: readonly string[];
}

export type XmlNode = Record<string, unknown>;

// Entity decoding is ours (fast-xml-parser's entityDecoder option): the five entities XML predefines and
// numeric character references (&#34;, &#x22;). Go's encoding/xml — rclone, mc, every minio-go client —
// escapes the quotes of an ETag as &#34;, so without them a CompleteMultipartUpload from Go never matches
// its parts. Other names are left as written (XML knows no others without a DOCTYPE, which is refused).
const XML_ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };
const REFERENCE = /&(?:#x([0-9a-fA-F]+)|#([0-9]+)|([A-Za-z]+));/g;
const CHAR_REFERENCE = /&#(?:x([0-9a-fA-F]+)|([0-9]+));/g;
const xmlEntityDecoder: EntityDecoderOptions = {
  decode: (text) =>
    text.includes('&')
      ? text.replace(REFERENCE, (whole, hex?: string, dec?: string, name?: string) =>
          hex !== undefined
            ? String.fromCodePoint(parseInt(hex, 16))
            : dec !== undefined
              ? String.fromCodePoint(Number(dec))
              : (XML_ENTITIES[name!] ?? whole),
        )
      : text,
  setExternalEntities: () => {},
  addInputEntities: () => {},
  reset: () => {},
  setXmlVersion: () => {},
};

/** XML 1.0's Char production: a reference to anything else (&#0;, a lone surrogate) is malformed. */
function isXmlChar(c: number): boolean {
  return (
    c === 0x9 || c === 0xa || c === 0xd || (c >= 0x20 && c <= 0xd7ff) || (c >= 0xe000 && c <= 0xfffd) || (c >= 0x10000 && c <= 0x10ffff)
  );
}

/**
 * Parses an XML document; namespaces prefixes and attributes are dropped, text stays text (no
 * number coercion), the five XML entities and numeric character references are decoded. DOCTYPE
 * declarations are refused so no entity expansion can happen. Anything malformed → S3Error MalformedXML.
 */
export function parseXML(body: string | Buffer, options: ParseOptions = {}): XmlNode {
  const text = typeof body === 'string' ? body : body.toString('utf8');
  if (text.trim() === '') throw new S3Error('MalformedXML', 'The XML you provided was empty.');
  if (/<!DOCTYPE|<!ENTITY/i.test(text)) {
    throw new S3Error('MalformedXML', 'The XML you provided contains a DOCTYPE declaration, which is not accepted.');
  }
  for (const m of text.matchAll(CHAR_REFERENCE)) {
    // A reference the parser would drop silently must not turn one key name into another.
    if (!isXmlChar(m[1] !== undefined ? parseInt(m[1], 16) : Number(m[2]))) {
      throw new S3Error('MalformedXML', `The XML you provided refers to a character XML does not allow: ${m[0]}`);
    }
  }
  const valid = XMLValidator.validate(text);
  if (valid !== true) {
    throw new S3Error(
      'MalformedXML',
      `The XML you provided was not well-formed: ${valid.err.msg} (line ${valid.err.line}, column ${valid.err.col})`,
    );
  }
  const arrays = new Set(options.arrays ?? []);
  const parser = new XMLParser({
    ignoreAttributes: true,
    removeNSPrefix: true,
    parseTagValue: false,
    trimValues: false,
    processEntities: true,
    entityDecoder: xmlEntityDecoder,
    ignoreDeclaration: true,
    ignorePiTags: true,
    isArray: (name) => arrays.has(name),
  });
  const parsed: unknown = parser.parse(text);
  if (parsed === null || typeof parsed !== 'object') throw new S3Error('MalformedXML');
  return parsed as XmlNode;
}

// ---- small accessors over parsed nodes ----

export function rootOf(doc: XmlNode, name: string): XmlNode {
  const root = doc[name];
  if (root === '' || root === undefined) {
    if (name in doc) return {};
    const found = Object.keys(doc).filter((k) => k !== '#text');
    throw new S3Error('MalformedXML', `Expected the root element <${name}>, found <${found[0] ?? 'nothing'}>.`);
  }
  if (typeof root !== 'object' || Array.isArray(root)) throw new S3Error('MalformedXML', `<${name}> must contain elements.`);
  return root as XmlNode;
}

export function element(node: XmlNode, name: string, parent: string): XmlNode | undefined {
  const v = node[name];
  if (v === undefined) return undefined;
  if (v === '') return {};
  if (typeof v !== 'object' || Array.isArray(v)) throw new S3Error('MalformedXML', `<${name}> in <${parent}> must contain elements.`);
  return v as XmlNode;
}

export function elements(node: XmlNode, name: string, parent: string): XmlNode[] {
  const v = node[name];
  if (v === undefined) return [];
  const list = Array.isArray(v) ? v : [v];
  return list.map((item) => {
    if (item === '') return {};
    if (typeof item !== 'object' || item === null || Array.isArray(item)) {
      throw new S3Error('MalformedXML', `<${name}> in <${parent}> must contain elements.`);
    }
    return item as XmlNode;
  });
}

/** The text of a child element, exactly as sent (no trimming); undefined when absent. */
export function textOf(node: XmlNode, name: string, parent: string): string | undefined {
  const v = node[name];
  if (v === undefined) return undefined;
  if (typeof v !== 'string') throw new S3Error('MalformedXML', `<${name}> in <${parent}> must be text and occur once.`);
  return v;
}

export function booleanOf(node: XmlNode, name: string, parent: string): boolean | undefined {
  const v = textOf(node, name, parent)?.trim();
  if (v === undefined) return undefined;
  if (v === 'true') return true;
  if (v === 'false') return false;
  throw new S3Error('MalformedXML', `<${name}> must be true or false, got "${v}".`);
}

// ---- CompleteMultipartUpload ----

export interface CompletedPart {
  partNumber: number;
  /** The ETag without surrounding quotes. */
  etag: string;
  /** Checksums the client listed for the part, base64 as sent. */
  checksums: Partial<Record<ChecksumAlgorithm, string>>;
}

/** Parses a CompleteMultipartUpload body; parts must be listed in strictly ascending order. */
export function parseCompleteMultipartUpload(body: string | Buffer): CompletedPart[] {
  const root = rootOf(parseXML(body, { arrays: ['Part'] }), 'CompleteMultipartUpload');
  const parts = elements(root, 'Part', 'CompleteMultipartUpload').map((p): CompletedPart => {
    const num = textOf(p, 'PartNumber', 'Part')?.trim();
    const etag = textOf(p, 'ETag', 'Part');
    if (num === undefined || etag === undefined) {
      throw new S3Error('MalformedXML', 'Every <Part> needs a <PartNumber> and an <ETag>.');
    }
    if (!/^\d{1,5}$/.test(num) || Number(num) < 1 || Number(num) > MAX_PART_NUMBER) {
      throw new S3Error('InvalidArgument', `Part number must be an integer between 1 and ${MAX_PART_NUMBER}, inclusive; got "${num}".`, {
        extra: { ArgumentName: 'PartNumber', ArgumentValue: num },
      });
    }
    const checksums: Partial<Record<ChecksumAlgorithm, string>> = {};
    for (const alg of CHECKSUM_ALGORITHMS) {
      const v = textOf(p, checksumXmlName(alg), 'Part');
      if (v !== undefined) checksums[alg] = v.trim();
    }
    return { partNumber: Number(num), etag: unquoteETag(etag), checksums };
  });
  if (parts.length === 0) {
    throw new S3Error('MalformedXML', 'CompleteMultipartUpload must list at least one <Part>.');
  }
  for (let i = 1; i < parts.length; i++) {
    if (parts[i]!.partNumber <= parts[i - 1]!.partNumber) throw new S3Error('InvalidPartOrder');
  }
  return parts;
}

// ---- Delete (DeleteObjects) ----

const MAX_DELETE_OBJECTS = 1000;

export interface DeleteRequest {
  quiet: boolean;
  objects: { key: string; versionId?: string }[];
}

export function parseDeleteObjects(body: string | Buffer): DeleteRequest {
  const root = rootOf(parseXML(body, { arrays: ['Object'] }), 'Delete');
  const objects = elements(root, 'Object', 'Delete').map((o) => {
    const key = textOf(o, 'Key', 'Object');
    if (key === undefined || key === '') throw new S3Error('MalformedXML', 'Every <Object> needs a non-empty <Key>.');
    const versionId = textOf(o, 'VersionId', 'Object')?.trim();
    return versionId === undefined ? { key } : { key, versionId };
  });
  if (objects.length === 0) throw new S3Error('MalformedXML', 'Delete must list at least one <Object>.');
  if (objects.length > MAX_DELETE_OBJECTS) {
    throw new S3Error('MalformedXML', `Delete may list at most ${MAX_DELETE_OBJECTS} objects; got ${objects.length}.`);
  }
  return { quiet: booleanOf(root, 'Quiet', 'Delete') ?? false, objects };
}

// ---- ServerSideEncryptionConfiguration (PutBucketEncryption) ----

export interface BucketEncryptionRule {
  sseAlgorithm: 'AES256' | 'aws:kms';
  kmsMasterKeyId?: string;
  bucketKeyEnabled?: boolean;
}

export function parseServerSideEncryptionConfiguration(body: string | Buffer): BucketEncryptionRule {
  const root = rootOf(parseXML(body, { arrays: ['Rule'] }), 'ServerSideEncryptionConfiguration');
  const rules = elements(root, 'Rule', 'ServerSideEncryptionConfiguration');
  if (rules.length !== 1) {
    throw new S3Error('MalformedXML', `ServerSideEncryptionConfiguration must hold exactly one <Rule>; got ${rules.length}.`);
  }
  const rule = rules[0]!;
  const apply = element(rule, 'ApplyServerSideEncryptionByDefault', 'Rule');
  if (apply === undefined) throw new S3Error('MalformedXML', '<Rule> needs an <ApplyServerSideEncryptionByDefault>.');
  const algorithm = textOf(apply, 'SSEAlgorithm', 'ApplyServerSideEncryptionByDefault')?.trim();
  if (algorithm === undefined) throw new S3Error('MalformedXML', '<ApplyServerSideEncryptionByDefault> needs an <SSEAlgorithm>.');
  if (algorithm !== 'AES256' && algorithm !== 'aws:kms') {
    throw new S3Error('InvalidArgument', `SSEAlgorithm must be AES256 or aws:kms; got "${algorithm}".`, {
      extra: { ArgumentName: 'SSEAlgorithm', ArgumentValue: algorithm },
    });
  }
  const keyId = textOf(apply, 'KMSMasterKeyID', 'ApplyServerSideEncryptionByDefault')?.trim();
  if (keyId !== undefined && algorithm !== 'aws:kms') {
    throw new S3Error('InvalidArgument', 'KMSMasterKeyID is only allowed when SSEAlgorithm is aws:kms.', {
      extra: { ArgumentName: 'KMSMasterKeyID', ArgumentValue: keyId },
    });
  }
  if (keyId === '') throw new S3Error('InvalidArgument', 'KMSMasterKeyID must not be empty.');
  const out: BucketEncryptionRule = { sseAlgorithm: algorithm };
  if (keyId !== undefined) out.kmsMasterKeyId = keyId;
  const bucketKey = booleanOf(rule, 'BucketKeyEnabled', 'Rule');
  if (bucketKey !== undefined) out.bucketKeyEnabled = bucketKey;
  return out;
}

// ---- CreateBucketConfiguration ----

/** An empty body is allowed (no configuration); returns the LocationConstraint when given. */
export function parseCreateBucketConfiguration(body: string | Buffer): { locationConstraint?: string } {
  const text = typeof body === 'string' ? body : body.toString('utf8');
  if (text.trim() === '') return {};
  const root = rootOf(parseXML(text), 'CreateBucketConfiguration');
  const location = textOf(root, 'LocationConstraint', 'CreateBucketConfiguration')?.trim();
  return location === undefined || location === '' ? {} : { locationConstraint: location };
}

// The policy of a browser form upload (POST Object): a base64 JSON document with an `expiration` and
// `conditions` that every form field must meet — exact matches (`{"f": "v"}`, `["eq", "$f", "v"]`),
// prefixes (`["starts-with", "$f", "p"]`) and the size of the file (`["content-length-range", min, max]`).
// As AWS checks it: every field of the form except the exempt ones must be named by a condition.
import { S3Error } from './errors.js';

interface FieldCondition {
  op: 'eq' | 'starts-with';
  /** The field's name, lowercase (form field names are case-insensitive). */
  field: string;
  value: string;
  /** As AWS quotes the condition in its error: `["eq", "$key", "a/b"]`. */
  text: string;
}

export interface PostPolicy {
  expiration: Date;
  conditions: FieldCondition[];
  /** The file's size range, from every content-length-range condition together. */
  minSize: number;
  maxSize: number | undefined;
}

/** Fields that sign or carry the request rather than describe the object: no condition needs to name them. */
const EXEMPT = new Set(['awsaccesskeyid', 'signature', 'x-amz-signature', 'file', 'policy']);

const invalid = (why: string): S3Error => new S3Error('InvalidPolicyDocument', `Invalid Policy: ${why}`);

// A condition on an SSE-C key names the key itself: errors quote it without its value.
const SECRET_FIELD = /server-side-encryption-customer-key$/i;

function quote(op: string, name: string, value: string): string {
  return `[${JSON.stringify(op)}, ${JSON.stringify(`$${name}`)}, ${JSON.stringify(SECRET_FIELD.test(name) ? '<redacted>' : value)}]`;
}

function scalar(v: unknown, what: string): string {
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  throw invalid(`Invalid ${what}: expected a string, got ${JSON.stringify(v)?.slice(0, 80)}.`);
}

function fieldName(v: unknown, condition: string): string {
  if (typeof v !== 'string' || !v.startsWith('$') || v.length < 2) {
    throw invalid(`Invalid Condition: ${condition}: the field must be named "$name".`);
  }
  return v.slice(1);
}

function sizeBound(v: unknown, condition: string): number {
  const n = typeof v === 'string' && /^\d+$/.test(v.trim()) ? Number(v) : v;
  if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < 0) {
    throw invalid(`Invalid content-length-range: ${condition}: the bounds must be non-negative integers.`);
  }
  return n;
}

/** Decodes and validates the `policy` field; InvalidPolicyDocument says what is wrong with it. */
export function parsePostPolicy(base64: string): PostPolicy {
  const compact = base64.replace(/\s+/g, '');
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(compact) || compact.length % 4 !== 0) throw invalid('the policy field is not valid base64.');
  let doc: unknown;
  try {
    doc = JSON.parse(Buffer.from(compact, 'base64').toString('utf8'));
  } catch {
    throw invalid('Invalid JSON.');
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) throw invalid('Invalid JSON: the policy must be an object.');
  const { expiration, conditions } = doc as { expiration?: unknown; conditions?: unknown };
  if (expiration === undefined) throw invalid('Policy missing expiration.');
  const expires = typeof expiration === 'string' ? Date.parse(expiration) : Number.NaN;
  if (Number.isNaN(expires)) throw invalid(`Invalid 'expiration' value: ${JSON.stringify(expiration)?.slice(0, 80)}`);
  if (conditions === undefined) throw invalid('Policy missing conditions.');
  if (!Array.isArray(conditions)) throw invalid("Invalid 'conditions' value: must be a list.");

  const policy: PostPolicy = { expiration: new Date(expires), conditions: [], minSize: 0, maxSize: undefined };
  for (const c of conditions) {
    const text = JSON.stringify(c)?.slice(0, 200) ?? String(c);
    if (Array.isArray(c)) {
      const op = typeof c[0] === 'string' ? c[0].toLowerCase() : c[0];
      if (op === 'content-length-range') {
        if (c.length !== 3) throw invalid(`Invalid content-length-range: ${text}`);
        const min = sizeBound(c[1], text);
        const max = sizeBound(c[2], text);
        policy.minSize = Math.max(policy.minSize, min);
        policy.maxSize = policy.maxSize === undefined ? max : Math.min(policy.maxSize, max);
        continue;
      }
      if ((op !== 'eq' && op !== 'starts-with') || c.length !== 3) throw invalid(`Invalid Condition: ${text}`);
      const name = fieldName(c[1], text);
      const value = scalar(c[2], `Condition ${text}`);
      policy.conditions.push({ op, field: name.toLowerCase(), value, text: quote(op, name, value) });
    } else if (typeof c === 'object' && c !== null) {
      const entries = Object.entries(c as Record<string, unknown>);
      if (entries.length === 0) throw invalid(`Invalid Simple-Condition: ${text}`);
      for (const [name, v] of entries) {
        const value = scalar(v, `Simple-Condition ${text}`);
        const field = (name.startsWith('$') ? name.slice(1) : name).toLowerCase();
        policy.conditions.push({ op: 'eq', field, value, text: quote('eq', name.replace(/^\$/, ''), value) });
      }
    } else {
      throw invalid(`Invalid Condition: ${text}`);
    }
  }
  return policy;
}

function holds(c: FieldCondition, value: string): boolean {
  if (c.op === 'eq') return value === c.value;
  // A Content-Type may list several types; each must start with the prefix.
  if (c.field === 'content-type') return value.split(',').every((t) => t.trim().startsWith(c.value));
  return value.startsWith(c.value);
}

/**
 * Checks the policy against the form's fields (lowercase names, `${filename}` already substituted):
 * not expired, every condition met, every field named by a condition. A condition on `bucket` is
 * about the bucket the request addresses.
 */
export function checkPostPolicy(policy: PostPolicy, fields: ReadonlyMap<string, string>, bucket: string, now: Date): void {
  if (now.getTime() > policy.expiration.getTime()) {
    throw new S3Error('AccessDenied', 'Invalid according to Policy: Policy expired.');
  }
  for (const c of policy.conditions) {
    if (!holds(c, c.field === 'bucket' ? bucket : (fields.get(c.field) ?? ''))) {
      throw new S3Error('AccessDenied', `Invalid according to Policy: Policy Condition failed: ${c.text}`);
    }
  }
  const named = new Set(policy.conditions.map((c) => c.field));
  const extra = [...fields.keys()].filter((f) => !EXEMPT.has(f) && !f.startsWith('x-ignore-') && !named.has(f));
  if (extra.length > 0) {
    throw new S3Error('AccessDenied', `Invalid according to Policy: Extra input fields: ${extra.join(', ')}`);
  }
}

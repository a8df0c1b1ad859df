// /v1/key/* — the KES key API and kesgate's per-key extensions (seal, unseal, rotate, config).
import type { KeyDescription } from '../../service/keys.js';
import { parseVersion } from '../../service/versions.js';
import { errors } from '../../errors.js';
import { base64Field } from '../body.js';
import { route, type AppDeps, type Route, type RouteContext } from '../route.js';

export function describeJson(d: KeyDescription): Record<string, unknown> {
  return {
    name: d.name,
    algorithm: d.algorithm,
    created_at: d.createdAt,
    created_by: d.createdBy,
    state: d.state,
    versions: d.versions,
    latest_version: d.latestVersion,
    min_decryption_version: d.minDecryptionVersion,
  };
}

const b64 = (b: Buffer) => b.toString('base64');

function keyName(c: RouteContext): string {
  c.audit.key = c.resource;
  return c.resource;
}

function caller(c: RouteContext): string {
  return c.identity ?? '';
}

export function keyRoutes({ keys }: AppDeps): Route[] {
  const audited = { audited: true };
  const noBody = { audited: true, maxBody: 0 };
  return [
    route('PUT', '/v1/key/create/', noBody, async (c) => {
      await keys.create(keyName(c), caller(c));
      c.audit.version = 'v1';
      return undefined;
    }),
    route('PUT', '/v1/key/import/', audited, async (c) => {
      const name = keyName(c);
      const body = await c.body();
      const key = base64Field(body, 'key', true);
      try {
        await keys.import(name, key, body.cipher ?? 'AES256', caller(c));
      } finally {
        key.fill(0);
      }
      c.audit.version = 'v1';
      return undefined;
    }),
    route('GET', '/v1/key/describe/', audited, async (c) => ({ json: describeJson(await keys.describe(keyName(c))) })),
    route('DELETE', '/v1/key/delete/', noBody, async (c) => {
      await keys.delete(keyName(c));
      return undefined;
    }),
    route('GET', '/v1/key/list/', {}, async (c) => {
      const limit = c.query.get('limit');
      const page = await keys.list(c.resource, {
        continueAt: c.query.get('continue_at') ?? c.query.get('continue') ?? undefined,
        limit: limit === null ? undefined : Number(limit) || undefined,
      });
      return { json: page.continueAt ? { names: page.names, continue_at: page.continueAt } : { names: page.names } };
    }),
    route('PUT', '/v1/key/generate/', audited, async (c) => {
      const name = keyName(c);
      const context = base64Field(await c.body(), 'context');
      const dek = await keys.generate(name, context);
      c.audit.version = dek.version;
      const json = { plaintext: b64(dek.plaintext), ciphertext: b64(dek.ciphertext), version: dek.version };
      dek.plaintext.fill(0);
      return { json };
    }),
    route('PUT', '/v1/key/encrypt/', audited, async (c) => {
      const name = keyName(c);
      const body = await c.body();
      const plaintext = base64Field(body, 'plaintext', true);
      const r = await keys.encrypt(name, plaintext, base64Field(body, 'context'));
      plaintext.fill(0);
      c.audit.version = r.version;
      return { json: { ciphertext: b64(r.ciphertext), version: r.version } };
    }),
    route('PUT', '/v1/key/decrypt/', audited, async (c) => {
      const name = keyName(c);
      const body = await c.body();
      const ciphertext = base64Field(body, 'ciphertext', true);
      const version = body.version === undefined || body.version === null || body.version === '' ? undefined : parseVersion(body.version);
      const r = await keys.decrypt(name, ciphertext, base64Field(body, 'context'), version);
      c.audit.version = r.version;
      const json = { plaintext: b64(r.plaintext) };
      r.plaintext.fill(0);
      return { json };
    }),
    route('PUT', '/v1/key/hmac/', audited, async (c) => {
      const name = keyName(c);
      const message = base64Field(await c.body(), 'message', true);
      return { json: { hmac: b64(await keys.hmac(name, message)) } };
    }),
    route('PUT', '/v1/key/seal/', noBody, async (c) => {
      await keys.seal(keyName(c));
      return undefined;
    }),
    route('PUT', '/v1/key/unseal/', noBody, async (c) => {
      await keys.unseal(keyName(c));
      return undefined;
    }),
    route('PUT', '/v1/key/rotate/', noBody, async (c) => {
      const name = keyName(c);
      const { version } = await keys.rotate(name, caller(c));
      c.audit.version = version;
      return { json: describeJson(await keys.describe(name)) };
    }),
    route('PUT', '/v1/key/config/', audited, async (c) => {
      const name = keyName(c);
      const body = await c.body();
      if (body.min_decryption_version === undefined)
        throw errors.badRequest('invalid request body: \'min_decryption_version\' is required, e.g. "v2"');
      const min = parseVersion(body.min_decryption_version, 'min_decryption_version');
      return { json: describeJson(await keys.configure(name, min)) };
    }),
  ];
}

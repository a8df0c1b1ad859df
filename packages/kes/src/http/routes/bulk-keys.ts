// /v1/key/bulk/* — many data keys of one master key in one request: KES's bulk decrypt, and kesgate's bulk
// generate (an extension). A client with many objects in flight (the gateway under load) pays one request's
// TLS, HTTP, JSON and audit cost for up to MAX_BULK_ITEMS keys. Both are all or nothing, as KES's bulk
// decrypt: one failing item is the answer for the whole request, so a client retries the items singly to
// learn which one failed. Each route has its own policy path (`/v1/key/bulk/decrypt/<name>`).
import { parseVersion } from '../../service/versions.js';
import { errors } from '../../errors.js';
import { base64Field, readJsonArray } from '../body.js';
import { MAX_BODY, route, type AppDeps, type Route, type RouteContext } from '../route.js';

/** At most this many items per request, as KES's bulk decrypt. */
export const MAX_BULK_ITEMS = 1000;

const b64 = (b: Buffer) => b.toString('base64');

async function items(c: RouteContext): Promise<Record<string, unknown>[]> {
  c.audit.key = c.resource;
  const list = await readJsonArray(c.req, MAX_BODY);
  if (list.length > MAX_BULK_ITEMS) throw errors.badRequest(`too many ciphertexts: at most ${MAX_BULK_ITEMS} items per request`);
  c.audit.items = list.length;
  return list;
}

export function bulkKeyRoutes({ keys, metrics }: AppDeps): Route[] {
  const options = { audited: true };
  return [
    route('POST', '/v1/key/bulk/decrypt/', options, async (c) => {
      const list = await items(c);
      const parsed = list.map((it) => {
        const v = it.version;
        return {
          ciphertext: base64Field(it, 'ciphertext', true),
          context: base64Field(it, 'context'),
          ...(v === undefined || v === null || v === '' ? {} : { version: parseVersion(v) }),
        };
      });
      const plaintexts = await keys.decryptMany(c.resource, parsed);
      const json = plaintexts.map((p) => ({ plaintext: b64(p) }));
      for (const p of plaintexts) p.fill(0);
      metrics.bulkItems('/v1/key/bulk/decrypt/', json.length);
      return { json };
    }),
    route('POST', '/v1/key/bulk/generate/', options, async (c) => {
      const list = await items(c);
      const contexts = list.map((it) => base64Field(it, 'context'));
      const deks = await keys.generateMany(c.resource, contexts);
      const json = deks.map((d) => ({ plaintext: b64(d.plaintext), ciphertext: b64(d.ciphertext), version: d.version }));
      for (const d of deks) d.plaintext.fill(0);
      if (deks[0]) c.audit.version = deks[0].version;
      metrics.bulkItems('/v1/key/bulk/generate/', json.length);
      return { json };
    }),
  ];
}

// Key bundles: chosen master keys (every version, HMAC keys, per-key state) moved between kes
// installations as a passphrase-protected JWE (PBES2-HS512+A256KW key wrapping, A256GCM content
// encryption, via `jose`). The keys are unwrapped from the source's root key into the bundle
// and wrapped again under the target's root key on import, with the target's name/version AAD.
import { CompactEncrypt, compactDecrypt, errors as joseErrors } from 'jose';
import { z } from 'zod';
import type { KeyRing } from '../keystore/keyring.js';
import { isValidName, parseListPrefix, validateName } from '../service/names.js';
import { OperatorError } from '../errors.js';

const BUNDLE_FORMAT = 'kesgate-key-bundle/v1';
const ALG = 'PBES2-HS512+A256KW';
const ENC = 'A256GCM';
/** PBKDF2-HMAC-SHA512 iterations (OWASP's 2023 figure); imports accept up to MAX_P2C. */
const P2C = 210_000;
const MAX_P2C = 2_000_000;
export const MIN_PASSPHRASE = 8;

const b64key = z.string().regex(/^[A-Za-z0-9+/]{43}=$/, 'expected base64 of 32 bytes');

const versionSchema = z.object({
  version: z.number().int().min(1),
  algorithm: z.enum(['AES256', 'ChaCha20']),
  key: b64key,
  hmac_key: b64key,
  created_at: z.string(),
  created_by: z.string(),
});

const keySchema = z
  .object({
    name: z.string().refine(isValidName, 'invalid key name'),
    sealed: z.boolean(),
    min_decryption_version: z.number().int().min(1),
    latest_version: z.number().int().min(1),
    versions: z.array(versionSchema).min(1),
  })
  .refine(
    (k) => k.versions.every((v, i) => v.version === i + 1) && k.versions.length === k.latest_version,
    'versions must be v1 to latest_version, in order',
  )
  .refine((k) => k.min_decryption_version <= k.latest_version, 'min_decryption_version is above latest_version');

const bundleSchema = z.object({
  format: z.literal(BUNDLE_FORMAT),
  created_at: z.string(),
  keys: z.array(keySchema),
});

export type Bundle = z.infer<typeof bundleSchema>;
export type BundleKey = z.infer<typeof keySchema>;

/** Names matching any of `patterns` (exact names, or prefixes ending in '*'), sorted, without duplicates. */
export async function matchNames(ring: KeyRing, patterns: string[]): Promise<string[]> {
  const names = new Set<string>();
  for (const p of patterns) {
    if (p.endsWith('*')) {
      for (const n of await ring.list(parseListPrefix(p), '', Number.MAX_SAFE_INTEGER)) names.add(n);
    } else {
      validateName(p);
      if (await ring.exists(p)) names.add(p);
    }
  }
  return [...names].sort();
}

/** The named keys with every version unwrapped (the barrier must be unsealed). */
export async function collectKeys(ring: KeyRing, names: string[]): Promise<BundleKey[]> {
  const keys: BundleKey[] = [];
  for (const name of names) {
    const entry = await ring.get(name);
    keys.push({
      name,
      sealed: entry.sealed,
      min_decryption_version: entry.minDecryptionVersion,
      latest_version: entry.latestVersion,
      versions: entry.versions.map((v) => ({
        version: v.version,
        algorithm: v.cipher,
        key: v.key.toString('base64'),
        hmac_key: v.hmacKey.toString('base64'),
        created_at: v.createdAt,
        created_by: v.createdBy,
      })),
    });
  }
  return keys;
}

// The bundle's JSON holds key material in strings, which cannot be wiped; the buffer that
// carries it into the cipher is wiped, and the process is short-lived.
export async function sealBundle(keys: BundleKey[], passphrase: string): Promise<string> {
  if (passphrase.length < MIN_PASSPHRASE) throw new OperatorError(`the passphrase is too short: use at least ${MIN_PASSPHRASE} characters`);
  const bundle: Bundle = { format: BUNDLE_FORMAT, created_at: new Date().toISOString(), keys };
  const plaintext = new TextEncoder().encode(JSON.stringify(bundle));
  try {
    return await new CompactEncrypt(plaintext)
      .setProtectedHeader({ alg: ALG, enc: ENC, cty: 'application/vnd.kesgate.key-bundle+json' })
      .setKeyManagementParameters({ p2c: P2C })
      .encrypt(new TextEncoder().encode(passphrase));
  } finally {
    plaintext.fill(0);
  }
}

/** Decrypts and validates a bundle; a wrong passphrase and a modified bundle fail alike. */
export async function openBundle(jwe: string, passphrase: string, source: string): Promise<Bundle> {
  let plaintext: Uint8Array;
  try {
    ({ plaintext } = await compactDecrypt(jwe.trim(), new TextEncoder().encode(passphrase), {
      keyManagementAlgorithms: [ALG],
      contentEncryptionAlgorithms: [ENC],
      maxPBES2Count: MAX_P2C,
    }));
  } catch (e) {
    if (e instanceof joseErrors.JWEDecryptionFailed)
      throw new OperatorError(`cannot open ${source}: wrong passphrase, or the bundle was modified`);
    if (e instanceof joseErrors.JOSEAlgNotAllowed || e instanceof joseErrors.JOSENotSupported) {
      throw new OperatorError(`cannot open ${source}: not a kesgate key bundle (expected ${ALG} with ${ENC})`);
    }
    throw new OperatorError(`cannot open ${source}: not a kesgate key bundle (${(e as Error).message})`);
  }
  try {
    const parsed = bundleSchema.safeParse(JSON.parse(Buffer.from(plaintext).toString('utf8')));
    if (!parsed.success) {
      const i = parsed.error.issues[0];
      throw new OperatorError(`${source} is not a valid ${BUNDLE_FORMAT} bundle: ${i ? `${i.path.join('.')}: ${i.message}` : 'invalid'}`);
    }
    return parsed.data;
  } catch (e) {
    throw e instanceof OperatorError ? e : new OperatorError(`${source} does not hold a key bundle: ${(e as Error).message}`);
  } finally {
    plaintext.fill(0);
  }
}

export interface ImportResult {
  imported: string[];
  /** Existing keys that were replaced (--force). */
  replaced: string[];
}

/**
 * Writes the bundle's keys through the keyring (KeyRing.importKey: wrapped under this keystore's root key,
 * each with its state sealed over its versions). Existing names are refused (nothing is written) unless
 * `force`, which replaces them. Each key is one transaction: a crash or a failure leaves that key as it was.
 */
export async function importKeys(ring: KeyRing, keys: BundleKey[], options: { force?: boolean } = {}): Promise<ImportResult> {
  const existing: string[] = [];
  for (const k of keys) if (await ring.exists(k.name)) existing.push(k.name);
  if (existing.length && !options.force) {
    throw new OperatorError(
      `keys already exist in the target keystore: ${existing.join(', ')}; nothing was imported (pass --force to replace them)`,
    );
  }
  const imported: string[] = [];
  for (const k of keys) {
    try {
      await ring.importKey(
        {
          name: k.name,
          sealed: k.sealed,
          minDecryptionVersion: k.min_decryption_version,
          versions: k.versions.map((v) => ({
            version: v.version,
            cipher: v.algorithm,
            key: Buffer.from(v.key, 'base64'),
            hmacKey: Buffer.from(v.hmac_key, 'base64'),
            createdAt: v.created_at,
            createdBy: v.created_by,
          })),
        },
        options.force === true,
      );
    } catch (e) {
      throw new OperatorError(`importing key ${k.name} failed, it was not imported: ${(e as Error).message}`);
    }
    imported.push(k.name);
  }
  return { imported, replaced: existing };
}

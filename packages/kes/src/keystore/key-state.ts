// A key's state, authenticated under the root key. The keystore holds it as one sealed blob per key
// (AES-256-GCM under the root key, AAD = the key's name), so a row edited in the database — the
// sealed flag flipped, the latest or minimum decryption version changed, another key's state copied
// in — fails to open and is refused, never obeyed.
//
// The state also carries a digest chained over the key's version rows (version, algorithm, wrapped
// key, wrapped HMAC key, created_at, created_by, in order), so a version row removed, added,
// reordered, edited or copied from elsewhere is detected too. (The wrapped keys are additionally bound
// to their name and version by their own AAD; see keyring.ts.)
//
// Replays: a state saved earlier and written back (e.g. the unsealed state over a sealed key) does
// authenticate. Each state therefore carries its key's incarnation (random, fixed at creation) and a
// sequence number that every change increments; a node refuses a state older than one it has already
// seen for that incarnation. A node that never saw the newer state (one started after the replay)
// cannot tell: the database alone cannot prove freshness.
import { createHash, randomBytes } from 'node:crypto';
import type { Barrier } from '../barrier/barrier.js';
import { UnwrapError } from '../crypto/wrap.js';
import type { KeyVersionRow } from './types.js';

export interface KeyState {
  /** Random per key creation (hex): tells a re-created key from an old state of the same name. */
  incarnation: string;
  /** 1 at creation, +1 with every change of the state. */
  sequence: number;
  sealed: boolean;
  minDecryptionVersion: number;
  latestVersion: number;
  /** versionsDigest() of versions 1..latestVersion. */
  digest: Buffer;
}

/** A key's rows do not authenticate: they were changed outside kes (or belong to another keystore). */
export class KeyIntegrityError extends Error {
  readonly key: string;
  constructor(key: string, detail: string) {
    super(`key '${key}' failed its integrity check: ${detail}`);
    this.name = 'KeyIntegrityError';
    this.key = key;
  }
}

function stateContext(name: string): Buffer {
  return Buffer.from(`kesgate/key-state/v1\0${name}`);
}

export function sealState(barrier: Barrier, name: string, s: KeyState): Buffer {
  const json = JSON.stringify({
    i: s.incarnation,
    n: s.sequence,
    s: s.sealed,
    m: s.minDecryptionVersion,
    l: s.latestVersion,
    d: s.digest.toString('hex'),
  });
  return barrier.wrap(stateContext(name), Buffer.from(json));
}

/** Opens a sealed state; throws KeyIntegrityError when it is not this key's, or systemSealed. */
export function openState(barrier: Barrier, name: string, blob: Buffer): KeyState {
  let json: Buffer;
  try {
    json = barrier.unwrap(stateContext(name), blob);
  } catch (e) {
    if (e instanceof UnwrapError)
      throw new KeyIntegrityError(name, 'its state does not authenticate under the root key (edited, or copied from another key)');
    throw e;
  }
  const v = JSON.parse(json.toString('utf8')) as { i?: unknown; n?: unknown; s?: unknown; m?: unknown; l?: unknown; d?: unknown };
  const whole = (n: unknown): n is number => typeof n === 'number' && Number.isInteger(n) && n >= 1;
  if (
    typeof v.i !== 'string' ||
    !whole(v.n) ||
    typeof v.s !== 'boolean' ||
    !whole(v.m) ||
    !whole(v.l) ||
    typeof v.d !== 'string' ||
    !/^[0-9a-f]{64}$/.test(v.d) ||
    v.m > v.l
  ) {
    throw new KeyIntegrityError(name, 'its state is malformed');
  }
  return { incarnation: v.i, sequence: v.n, sealed: v.s, minDecryptionVersion: v.m, latestVersion: v.l, digest: Buffer.from(v.d, 'hex') };
}

/** The state of a new key (or of one written whole: an import, the schema 1 upgrade). */
export function firstState(name: string, rows: KeyVersionRow[], s: { sealed: boolean; minDecryptionVersion: number }): KeyState {
  return { incarnation: randomBytes(8).toString('hex'), sequence: 1, ...s, latestVersion: rows.length, digest: versionsDigest(name, rows) };
}

/** The digest before version 1. */
function emptyDigest(name: string): Buffer {
  return createHash('sha256').update(`kesgate/key-versions/v1\0${name}`).digest();
}

/** The digest after appending `row` to versions digested as `previous`. */
export function extendDigest(previous: Buffer, row: KeyVersionRow): Buffer {
  const h = createHash('sha256').update(previous);
  const field = (b: Buffer) => {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(b.length);
    h.update(len).update(b);
  };
  field(Buffer.from(String(row.version)));
  field(Buffer.from(row.algorithm));
  field(row.wrappedKey);
  field(row.wrappedHmacKey);
  field(Buffer.from(row.createdAt));
  field(Buffer.from(row.createdBy));
  return h.digest();
}

function versionsDigest(name: string, rows: KeyVersionRow[]): Buffer {
  return rows.reduce((d, r) => extendDigest(d, r), emptyDigest(name));
}

/** Checks that `rows` are exactly the versions `state` was sealed over. */
export function checkVersions(name: string, state: KeyState, rows: KeyVersionRow[]): void {
  const inOrder = rows.every((r, i) => r.name === name && r.version === i + 1);
  if (!inOrder || rows.length !== state.latestVersion || !versionsDigest(name, rows).equals(state.digest)) {
    throw new KeyIntegrityError(
      name,
      'its stored versions do not match its authenticated state (a version row was edited, added, removed or copied)',
    );
  }
}

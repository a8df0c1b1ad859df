// The console's one way to the gateway: same-origin JSON under /console/api, the session cookie sent by the
// browser, the CSRF token on every state change. A 401 means the session ended: the app shows sign-in again.

class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

let csrfToken = '';
let onSignedOut: (reason: string) => void = () => {};

export function setCsrf(token: string): void {
  csrfToken = token;
}

export function whenSignedOut(f: (reason: string) => void): void {
  onSignedOut = f;
}

/** `background`: a periodic refresh, which does not extend the session (an unattended console still times out). */
export async function api<T>(method: 'GET' | 'POST' | 'PUT' | 'DELETE', path: string, body?: unknown, background = false): Promise<T> {
  const headers: Record<string, string> = { accept: 'application/json' };
  if (background) headers['x-console-background'] = '1';
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (method !== 'GET') headers['x-csrf-token'] = csrfToken;
  const res = await fetch(`/console/api${path}`, {
    method,
    headers,
    credentials: 'same-origin',
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  const text = await res.text();
  let json: Record<string, unknown> = {};
  try {
    json = text ? (JSON.parse(text) as Record<string, unknown>) : {};
  } catch {
    // not JSON: the status says enough
  }
  if (!res.ok) {
    const message = typeof json.message === 'string' ? json.message : `The gateway answered ${res.status} ${res.statusText}.`;
    if (res.status === 401 && path !== '/session') onSignedOut(message);
    throw new ApiError(res.status, typeof json.error === 'string' ? json.error : 'Error', message);
  }
  return json as T;
}

export const enc = encodeURIComponent;

// ---- shapes the API answers (the parts the pages use)

export interface SessionInfo {
  user: string;
  csrf: string;
  expiresAt: string;
  kesWritable: boolean;
  defaultKey: string;
}

export interface KesEndpointState {
  endpoint: string;
  online: boolean;
  sealed?: boolean;
  latencyMs?: number;
  version?: string;
  unseal?: { threshold: number; shares: number; progress: number };
  error?: string;
}

interface StoreHealth {
  reachable: boolean;
  latencyMs?: number;
  error?: string;
}

export interface Overview {
  region: string;
  instance: string;
  backend: {
    type: string;
    metadata: { kind: string };
    blobs: { kind: string };
    health: { metadata: StoreHealth; blobs: StoreHealth };
    stats?: { buckets: number; objects: number; bytes: number; storedBytes: number; uploads: number };
    /** Per SSE mode with any objects (every stored version counts). */
    sseTotals?: { sse: string; objects: number; bytes: number; storedBytes: number }[];
    gateways?: { id: string; address: string; self: boolean; lastSeen: string }[];
    [k: string]: unknown;
  };
  kes: { endpoints: KesEndpointState[]; defaultKey: { name: string; state?: string; latestVersion?: string; error?: string } };
  rotation: { running?: number; error?: string };
  console: { kesWritable: boolean };
}

export interface Dependents {
  key: string;
  objects: number;
  versions: number;
  uploads: number;
  buckets: { bucket: string; objects: number; versions: number; uploads: number }[];
}

export interface KeyRow {
  name: string;
  state?: string;
  versions?: number;
  latestVersion?: string;
  createdAt?: string;
  error?: string;
  dependents?: Dependents;
}

export interface KeysAnswer {
  writable: boolean;
  defaultKey: string;
  keys: KeyRow[];
  truncated: boolean;
}

export interface BucketRow {
  name: string;
  createdAt: string;
  /** `bucketKeyEnabled` is present only when the gateway stores bucket keys. */
  encryption: { sse: string; kmsKeyId?: string; bucketKeyEnabled?: boolean } | null;
  versioning: 'Unversioned' | 'Enabled' | 'Suspended';
  objects: number;
  bytes: number;
  truncated: boolean;
}

interface SealStatus {
  initialized: boolean;
  sealed: boolean;
  t: number;
  n: number;
  progress: number;
}

export interface EndpointSeal {
  endpoint: string;
  status?: SealStatus;
  error?: string;
}

export interface RotationJob {
  id: string;
  bucket: string;
  prefix: string;
  toKey: string;
  fromKey?: string;
  dryRun: boolean;
  state: 'running' | 'done' | 'incomplete' | 'failed' | 'cancelled';
  total?: number;
  counters: { scanned: number; rotated: number; skipped: number; failed: number };
  error?: string;
  failures: { key: string; error: string }[];
  cancelRequested?: true;
  createdAt: string;
  finishedAt?: string;
}

export interface AuditEntry {
  time: string;
  identity: string;
  identityName?: string;
  method: string;
  path: string;
  key?: string;
  status: number;
  latencyMs?: number;
}

export type KesCipher = 'AES256' | 'ChaCha20';

export interface DataKey {
  /** The 32-byte data key in plaintext: use it, then let it go. */
  plaintext: Buffer;
  /** The data key encrypted under the master key: store it. */
  ciphertext: Buffer;
  /** The master key version that made it, e.g. "v2" (absent from servers without versions). */
  version?: string;
}

export interface KeyDescription {
  name: string;
  algorithm?: string;
  created_at?: string;
  created_by?: string;
  state?: 'active' | 'sealed';
  versions?: { version: string; created_at?: string }[] | string[];
  latest_version?: string;
  min_decryption_version?: number | string;
}

export interface SealStatus {
  initialized: boolean;
  sealed: boolean;
  t: number;
  n: number;
  progress: number;
}

export interface KesStatus {
  version: string;
  sealed?: boolean;
  uptime?: number;
  keystore_latency?: number;
  [field: string]: unknown;
}

export interface KeyList {
  names: string[];
  continue_at?: string;
}

export interface IdentityDescription {
  /** The admin identity (it has no policy: everything is allowed). */
  admin?: boolean;
  policy?: string;
  created_at?: string;
  created_by?: string;
}

export interface PolicyDescription {
  name: string;
  created_at?: string;
  created_by?: string;
}

export interface PolicyDocument extends PolicyDescription {
  /** Allowed API paths (patterns) as keys; the values are empty objects, as KES writes them. */
  allow?: Record<string, unknown>;
  deny?: Record<string, unknown>;
}

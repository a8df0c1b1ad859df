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

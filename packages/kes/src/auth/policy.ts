// Authorization: the admin may do everything; every other identity must be listed in exactly one
// policy, whose deny patterns are checked first (any match refuses), then its allow patterns
// (some match permits). A pattern matches the path exactly, or — ending in '*' — as a prefix
// (which may cross '/').
import type { PolicyConfig } from '../config/config.js';

export interface NamedPolicy extends PolicyConfig {
  name: string;
}

export function matchPattern(pattern: string, path: string): boolean {
  return pattern.endsWith('*') ? path.startsWith(pattern.slice(0, -1)) : path === pattern;
}

export class PolicySet {
  readonly admin: string | undefined;
  readonly #policies: Map<string, NamedPolicy>;
  readonly #byIdentity = new Map<string, NamedPolicy>();
  readonly createdAt: string;

  constructor(admin: string | undefined, policies: Record<string, PolicyConfig>, createdAt = new Date().toISOString()) {
    this.admin = admin;
    this.createdAt = createdAt;
    this.#policies = new Map(Object.entries(policies).map(([name, p]) => [name, { name, ...p }]));
    for (const p of this.#policies.values()) for (const id of p.identities) this.#byIdentity.set(id, p);
  }

  isAdmin(identity: string | undefined): boolean {
    return identity !== undefined && identity === this.admin;
  }

  policyOf(identity: string): NamedPolicy | undefined {
    return this.#byIdentity.get(identity);
  }

  /** Is `identity` allowed to call `path` (the URL path, without query)? */
  authorize(identity: string | undefined, path: string): boolean {
    if (identity === undefined) return false;
    if (this.isAdmin(identity)) return true;
    const policy = this.#byIdentity.get(identity);
    if (!policy) return false;
    if (policy.deny.some((p) => matchPattern(p, path))) return false;
    return policy.allow.some((p) => matchPattern(p, path));
  }

  policy(name: string): NamedPolicy | undefined {
    return this.#policies.get(name);
  }

  policyNames(): string[] {
    return [...this.#policies.keys()].sort();
  }

  /** The identities assigned to a policy; the admin is not one of them (as KES's `/v1/identity/list` answers). */
  identities(): string[] {
    return [...this.#byIdentity.keys()].filter((id) => id !== this.admin).sort();
  }
}

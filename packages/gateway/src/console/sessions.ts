// Console sessions: random ids held in this gateway's memory (a restart signs everyone out), each with its
// own CSRF token, ending `ttlSeconds` after their last request or at sign-out.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

export interface Session {
  id: string;
  user: string;
  csrf: string;
  createdAt: number;
  expiresAt: number;
}

export const SESSION_COOKIE = 'kesgate_console';

export class SessionStore {
  private readonly sessions = new Map<string, Session>();

  constructor(
    private readonly ttlSeconds: number,
    private readonly now: () => number = Date.now,
  ) {}

  create(user: string): Session {
    this.sweep();
    const t = this.now();
    const s: Session = {
      id: randomBytes(32).toString('base64url'),
      user,
      csrf: randomBytes(32).toString('base64url'),
      createdAt: t,
      expiresAt: t + this.ttlSeconds * 1000,
    };
    this.sessions.set(s.id, s);
    return s;
  }

  /**
   * The live session of this id, its expiry pushed back unless `extend` is false (a page refreshing itself in
   * the background must not keep an unattended session alive); undefined when unknown or expired.
   */
  touch(id: string | undefined, extend = true): Session | undefined {
    if (!id) return undefined;
    const s = this.sessions.get(id);
    if (!s) return undefined;
    const t = this.now();
    if (t >= s.expiresAt) {
      this.sessions.delete(id);
      return undefined;
    }
    if (extend) s.expiresAt = t + this.ttlSeconds * 1000;
    return s;
  }

  end(id: string): void {
    this.sessions.delete(id);
  }

  get ttl(): number {
    return this.ttlSeconds;
  }

  private sweep(): void {
    const t = this.now();
    for (const [id, s] of this.sessions) if (t >= s.expiresAt) this.sessions.delete(id);
  }
}

/** Compares two secrets in constant time (over their hashes, so lengths leak nothing either). */
export function sameSecret(a: string, b: string): boolean {
  const h = (s: string): Buffer => createHash('sha256').update(s, 'utf8').digest();
  return timingSafeEqual(h(a), h(b));
}

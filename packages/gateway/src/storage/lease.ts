// A lease held for as long as a piece of work runs: taken once, renewed in the background every third of its
// time to live, given up at the end. When a renewal is refused (another holder took it after it expired) or
// renewals keep failing until the lease must be assumed expired, the holder is told it lost the lease and
// must stop: from then on another gateway may be doing the same work.
import type { MetadataStore } from './metadata/types.js';

export type LeaseStore = Pick<MetadataStore, 'tryLease' | 'releaseLease'>;

export interface HeldLeaseOptions {
  /** Called once, when the lease is lost. */
  onLost?: () => void;
  /** Called after each successful renewal (e.g. to look at what others asked of the holder). */
  onRenewed?: () => Promise<void> | void;
}

export class HeldLease {
  private timer: NodeJS.Timeout | undefined;
  /** By this process's clock, a conservative end: the renewal asked before it was answered. */
  private validUntil: number;
  private lost = false;
  private released = false;

  private constructor(
    private readonly store: LeaseStore,
    readonly name: string,
    readonly holder: string,
    readonly ttlMs: number,
    askedAt: number,
    private readonly options: HeldLeaseOptions,
  ) {
    this.validUntil = askedAt + ttlMs;
    this.schedule();
  }

  /** Takes the lease and starts renewing it; undefined when another holder has it. */
  static async take(
    store: LeaseStore,
    name: string,
    holder: string,
    ttlMs: number,
    options: HeldLeaseOptions = {},
  ): Promise<HeldLease | undefined> {
    const askedAt = Date.now();
    if (!(await store.tryLease(name, holder, ttlMs))) return undefined;
    return new HeldLease(store, name, holder, ttlMs, askedAt, options);
  }

  /** Stops renewing and gives the lease up (unless it was lost). Never throws: an unreleased lease expires. */
  async release(): Promise<void> {
    if (this.released) return;
    this.released = true;
    clearTimeout(this.timer);
    if (this.lost) return;
    await this.store.releaseLease(this.name, this.holder).catch(() => undefined);
  }

  private schedule(): void {
    this.timer = setTimeout(() => void this.renew(), Math.max(1, Math.floor(this.ttlMs / 3)));
    this.timer.unref();
  }

  private async renew(): Promise<void> {
    if (this.released || this.lost) return;
    const askedAt = Date.now();
    let renewed: boolean | undefined;
    try {
      renewed = await this.store.tryLease(this.name, this.holder, this.ttlMs);
    } catch {
      // The store is unreachable: keep trying while the lease may still be ours.
      renewed = undefined;
    }
    if (this.released) return;
    if (renewed === true) {
      this.validUntil = askedAt + this.ttlMs;
      await Promise.resolve(this.options.onRenewed?.()).catch(() => undefined);
    } else if (renewed === false || Date.now() >= this.validUntil) {
      this.lose();
      return;
    }
    if (!this.released) this.schedule();
  }

  private lose(): void {
    if (this.lost) return;
    this.lost = true;
    clearTimeout(this.timer);
    this.options.onLost?.();
  }
}

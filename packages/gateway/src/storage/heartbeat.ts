// This gateway's heartbeat in the metadata store, so that every gateway sharing it can list the others
// (admin status): a row refreshed every HEARTBEAT_EVERY_MS, removed on a clean stop. A gateway that died
// leaves its row, which drops out of the list once it is older than SEEN_WITHIN_MS.
import type { Logger } from 'pino';
import type { GatewayInstance, MetadataStore } from './metadata/types.js';

/** How often a gateway refreshes its row: cheap (one small upsert), frequent enough for a status page. */
export const HEARTBEAT_EVERY_MS = 10_000;
/** A gateway counts as sharing the store while its latest heartbeat is this recent: three missed beats. */
export const SEEN_WITHIN_MS = 3 * HEARTBEAT_EVERY_MS;

export class Heartbeat {
  private timer: NodeJS.Timeout | undefined;
  private beating: Promise<void> | undefined;
  private stopped = false;
  private failing = false;

  constructor(
    private readonly metadata: Pick<MetadataStore, 'heartbeat' | 'removeGateway'>,
    private readonly instance: GatewayInstance,
    private readonly logger: Logger,
    private readonly everyMs = HEARTBEAT_EVERY_MS,
  ) {}

  /** Beats once (resolves when that beat was written or failed) and then every `everyMs`. */
  async start(): Promise<void> {
    await this.beat();
    this.schedule();
  }

  /** Stops beating and removes this gateway's row (best effort: a row left behind ages out). */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    clearTimeout(this.timer);
    await this.beating;
    await this.metadata.removeGateway(this.instance.id).catch(() => undefined);
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => void this.beat().then(() => this.schedule()), this.everyMs);
    this.timer.unref();
  }

  private beat(): Promise<void> {
    this.beating = this.metadata.heartbeat(this.instance).then(
      () => {
        if (this.failing) this.logger.info('heartbeat written again');
        this.failing = false;
      },
      (err: unknown) => {
        // Logged once per outage: the metadata store's own failures show on every request anyway.
        if (!this.failing) this.logger.warn({ err }, "cannot write this gateway's heartbeat to the metadata store");
        this.failing = true;
      },
    );
    return this.beating;
  }
}

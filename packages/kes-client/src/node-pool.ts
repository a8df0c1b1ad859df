// Which kes node a request goes to, and which nodes are healthy: live traffic marks a node down on a
// failure, and a background probe (with backoff) brings it back, so no live request is spent on a
// node known to be dead, sealed or stalled while another one answers.

/** A node as `KesClient.nodes()` reports it. */
export interface KesNodeState {
  endpoint: string;
  /** Takes live traffic. A down node is tried only when every up node has failed the request. */
  up: boolean;
  /** Whether the node said it is sealed (its last answer or probe), when it said. */
  sealed?: boolean;
  /** Why it was last marked down, and when (ISO time). */
  lastError?: string;
  lastErrorAt?: string;
  /** Smoothed round trip of its successful answers, in milliseconds. */
  latencyMs?: number;
  /** Requests being sent to it now. */
  inFlight: number;
  /** Attempts that failed on it (network error, timeout, 503) and went on to another node or to the caller. */
  failures: number;
}

/** What a probe found: `up` when the node answers and is not sealed. */
export interface ProbeResult {
  up: boolean;
  sealed?: boolean;
  error?: string;
  latencyMs?: number;
}

export interface PoolOptions {
  /** First probe of a node this long after it was marked down; doubled after each failed probe. */
  probeMs: number;
  probeMaxMs: number;
  probe: (url: URL) => Promise<ProbeResult>;
  /** Told when a node is marked down or comes back. */
  onChange?: (node: KesNodeState) => void;
}

export class KesNode {
  up = true;
  sealed: boolean | undefined;
  lastError: string | undefined;
  lastErrorAt: Date | undefined;
  latencyMs: number | undefined;
  inFlight = 0;
  failures = 0;
  /** Bumped on every failure: an answer to a request sent before the failure does not bring the node back. */
  generation = 0;
  probeTimer: NodeJS.Timeout | undefined;
  probeDelay: number;

  constructor(
    readonly url: URL,
    probeMs: number,
  ) {
    this.probeDelay = probeMs;
  }
}

export class NodePool {
  readonly nodes: KesNode[];
  private next = 0;
  private closed = false;

  constructor(
    urls: URL[],
    private readonly o: PoolOptions,
  ) {
    this.nodes = urls.map((u) => new KesNode(u, o.probeMs));
  }

  /**
   * The order to try the nodes in for one request: up nodes with the fewest requests in flight first
   * (ties taken round-robin, so a sequential caller spreads too), then the down ones as a last resort.
   */
  order(): KesNode[] {
    const n = this.nodes.length;
    const start = this.next++ % n;
    const rotated = Array.from({ length: n }, (_, i) => this.nodes[(start + i) % n]!);
    const up = rotated.filter((x) => x.up).sort((a, b) => a.inFlight - b.inFlight); // stable: ties keep the rotation
    return [...up, ...rotated.filter((x) => !x.up)];
  }

  /** A request is being sent to `node`; returns the generation to hand to `succeeded`. */
  begin(node: KesNode): number {
    node.inFlight++;
    return node.generation;
  }

  end(node: KesNode): void {
    node.inFlight--;
  }

  succeeded(node: KesNode, generation: number, ms: number): void {
    node.latencyMs = node.latencyMs === undefined ? ms : node.latencyMs * 0.8 + ms * 0.2;
    if (!node.up && generation === node.generation) {
      node.up = true;
      node.sealed = false;
      node.probeDelay = this.o.probeMs;
      this.changed(node);
    }
  }

  /** Marks `node` down (a network error, a timeout, or a 503) and starts probing it. */
  failed(node: KesNode, error: string, sealed?: boolean): void {
    node.generation++;
    node.failures++;
    node.lastError = error;
    node.lastErrorAt = new Date();
    if (sealed !== undefined) node.sealed = sealed;
    if (!node.up) return;
    node.up = false;
    node.probeDelay = this.o.probeMs;
    this.changed(node);
    this.schedule(node);
  }

  states(): KesNodeState[] {
    return this.nodes.map((n) => this.state(n));
  }

  private state(n: KesNode): KesNodeState {
    return {
      endpoint: n.url.origin,
      up: n.up,
      ...(n.sealed !== undefined ? { sealed: n.sealed } : {}),
      ...(n.lastError !== undefined ? { lastError: n.lastError, lastErrorAt: n.lastErrorAt!.toISOString() } : {}),
      ...(n.latencyMs !== undefined ? { latencyMs: Math.round(n.latencyMs * 100) / 100 } : {}),
      inFlight: n.inFlight,
      failures: n.failures,
    };
  }

  private changed(node: KesNode): void {
    try {
      this.o.onChange?.(this.state(node));
    } catch {
      // A listener's failure is not the request's.
    }
  }

  close(): void {
    this.closed = true;
    for (const n of this.nodes) clearTimeout(n.probeTimer);
  }

  // With one node there is nothing to fail over to: its live traffic is its probe.
  private schedule(node: KesNode): void {
    if (this.closed || this.nodes.length < 2 || node.probeTimer) return;
    node.probeTimer = setTimeout(() => void this.probe(node), node.probeDelay);
    node.probeTimer.unref();
  }

  private async probe(node: KesNode): Promise<void> {
    const generation = node.generation;
    let r: ProbeResult;
    try {
      r = await this.o.probe(node.url);
    } catch (err) {
      r = { up: false, error: err instanceof Error ? err.message : String(err) };
    }
    node.probeTimer = undefined;
    if (this.closed || node.up) return; // a live answer brought it back meanwhile
    if (r.sealed !== undefined) node.sealed = r.sealed;
    if (r.up && generation === node.generation) {
      node.up = true;
      node.probeDelay = this.o.probeMs;
      if (r.latencyMs !== undefined) node.latencyMs = r.latencyMs;
      this.changed(node);
      return;
    }
    if (!r.up) {
      node.lastError = r.error ?? node.lastError;
      node.lastErrorAt = new Date();
    }
    node.probeDelay = Math.min(node.probeDelay * 2, this.o.probeMaxMs);
    this.schedule(node);
  }
}

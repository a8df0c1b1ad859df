// Request coalescing: calls for the same (operation, key name) that arrive while the client already has
// enough requests in flight wait for the next free slot and go out together as one batch. An idle client
// adds no latency (the first call goes alone, at once); a busy one sends fewer, larger requests, which is
// what saves CPU on both sides of the TLS connection (one request's TLS, HTTP, JSON and audit work for many keys).

export interface Pending<T> {
  /** The call's own request body (each item keeps its own context). */
  body: Record<string, string>;
  resolve(value: T): void;
  reject(err: unknown): void;
}

export interface CoalescerOptions {
  /** How many batches may be in flight before new calls queue (e.g. 2 per kes node that is up). */
  window: () => number;
  /** Most calls in one batch; a queue that reaches it is sent at once, whatever is in flight. */
  maxBatch: number;
  /** Sends one batch and settles every item of it; never rejects. */
  send: (op: string, name: string, items: Pending<unknown>[]) => Promise<void>;
}

interface Queue {
  op: string;
  name: string;
  items: Pending<unknown>[];
}

export class Coalescer {
  private inFlight = 0;
  /** Waiting calls by (op, name), in the order their first call arrived (Map keeps insertion order). */
  private readonly queues = new Map<string, Queue>();

  constructor(private readonly o: CoalescerOptions) {}

  submit<T>(op: string, name: string, body: Record<string, string>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const item = { body, resolve, reject } as Pending<unknown>;
      if (this.inFlight < this.o.window()) {
        this.dispatch(op, name, [item]);
        return;
      }
      const id = `${op}\0${name}`;
      let q = this.queues.get(id);
      if (!q) {
        q = { op, name, items: [] };
        this.queues.set(id, q);
      }
      q.items.push(item);
      if (q.items.length >= this.o.maxBatch) {
        this.queues.delete(id);
        this.dispatch(op, name, q.items);
      }
    });
  }

  private dispatch(op: string, name: string, items: Pending<unknown>[]): void {
    this.inFlight++;
    void this.o
      .send(op, name, items)
      .catch((err: unknown) => {
        for (const it of items) it.reject(err); // send settles its items; this only guards against a bug there
      })
      .finally(() => {
        this.inFlight--;
        this.drain();
      });
  }

  /** Free slots go to the queues that have waited longest. */
  private drain(): void {
    while (this.queues.size > 0 && this.inFlight < this.o.window()) {
      const [id, q] = this.queues.entries().next().value as [string, Queue];
      this.queues.delete(id);
      this.dispatch(q.op, q.name, q.items);
    }
  }
}

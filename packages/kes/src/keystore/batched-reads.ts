// Key state reads against a database, several requests per query. Every key operation reads its key's state
// (keyring.ts: that read is what makes a change through one kes node binding on every node once its call
// returns); on PostgreSQL a query per request is most of a GenerateKey's cost. Requests that arrive while
// `maxInFlight` reads are out wait for the next query and share it, one row per distinct name.
//
// Freshness is unchanged: a request only ever joins a query that has not been sent yet, so its answer comes
// from a statement that started after the request arrived, and sees every change committed before it.

export interface BatchResult<Row> {
  /** The rows found, by name (a name without a row is absent). */
  rows: Map<string, Row>;
  sealEpoch: number;
}

interface Waiter<Row> {
  resolve(read: { row: Row | undefined; sealEpoch: number }): void;
  reject(e: unknown): void;
}

export class BatchedReads<Row> {
  /** Reads not yet sent, by name: they go out together in the next query. */
  #pending = new Map<string, Waiter<Row>[]>();
  #inFlight = 0;
  #scheduled = false;

  constructor(
    private readonly query: (names: string[]) => Promise<BatchResult<Row>>,
    private readonly maxInFlight: number,
  ) {}

  read(name: string): Promise<{ row: Row | undefined; sealEpoch: number }> {
    return new Promise((resolve, reject) => {
      const waiters = this.#pending.get(name);
      if (waiters) waiters.push({ resolve, reject });
      else this.#pending.set(name, [{ resolve, reject }]);
      this.#schedule();
    });
  }

  /** The next query goes out once the requests of this turn of the event loop have joined it, if a slot is free. */
  #schedule(): void {
    if (this.#scheduled || this.#inFlight >= this.maxInFlight || this.#pending.size === 0) return;
    this.#scheduled = true;
    setImmediate(() => {
      this.#scheduled = false;
      this.#send();
    });
  }

  #send(): void {
    if (this.#inFlight >= this.maxInFlight || this.#pending.size === 0) return;
    const batch = this.#pending;
    this.#pending = new Map();
    this.#inFlight++;
    void this.query([...batch.keys()])
      .then(
        ({ rows, sealEpoch }) => {
          for (const [name, waiters] of batch) for (const w of waiters) w.resolve({ row: rows.get(name), sealEpoch });
        },
        (e: unknown) => {
          for (const waiters of batch.values()) for (const w of waiters) w.reject(e);
        },
      )
      .finally(() => {
        this.#inFlight--;
        this.#schedule();
      });
  }
}

// Completion in listing order. Objects finish out of order under concurrency, but a restart may only skip
// what is finished *and* everything before it: this tracks the longest finished prefix.

export class InOrderTracker<T> {
  private next = 0;
  private head = 0;
  private readonly done = new Map<number, { key: string; value: T }>();
  private readonly keys = new Map<number, string>();

  /** Registers the next key in listing order; returns its sequence number. */
  begin(key: string): number {
    const seq = this.next++;
    this.keys.set(seq, key);
    return seq;
  }

  /** Marks `seq` finished; returns the entries that now extend the finished prefix, in order. */
  complete(seq: number, value: T): { key: string; value: T }[] {
    const key = this.keys.get(seq);
    if (key === undefined) throw new Error(`sequence ${seq} was not begun or is already complete`);
    this.keys.delete(seq);
    this.done.set(seq, { key, value });
    const drained: { key: string; value: T }[] = [];
    for (let e = this.done.get(this.head); e !== undefined; e = this.done.get(this.head)) {
      drained.push(e);
      this.done.delete(this.head);
      this.head++;
    }
    return drained;
  }

  /** Keys begun but not yet part of the finished prefix. */
  get pending(): number {
    return this.next - this.head;
  }
}

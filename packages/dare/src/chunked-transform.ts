// A Transform that works through each input chunk in steps and pauses between steps while the
// readable side is full. Node's Transform only waits between chunks, so one large input chunk would
// otherwise be turned into many buffered packages at once.
import { Transform, type TransformCallback } from 'node:stream';

export abstract class ChunkedTransform extends Transform {
  private continuation: (() => void) | null = null;
  private pushed = false;

  /** Processes input from `chunk[off..]` (off < length) and returns the new offset; may push. */
  protected abstract consume(chunk: Buffer, off: number): number;
  /** End of input; may push. */
  protected abstract finish(): void;

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.run(chunk, 0, callback);
  }

  override _flush(callback: TransformCallback): void {
    try {
      this.finish();
    } catch (err) {
      callback(err as Error);
      return;
    }
    callback();
  }

  override push(chunk: unknown, encoding?: BufferEncoding): boolean {
    this.pushed = true;
    return super.push(chunk, encoding);
  }

  override _read(size: number): void {
    const next = this.continuation;
    if (next === null) {
      super._read(size);
      return;
    }
    this.continuation = null;
    next();
    // The resumed chunk finished. If its last step pushed nothing, Readable is still waiting for a push
    // and will not call _read again, while Transform may be holding the write callback until it does:
    // release that callback here, or the stream stalls with a slow consumer.
    if (this.continuation === null) super._read(size);
  }

  private run(chunk: Buffer, start: number, callback: TransformCallback): void {
    let off = start;
    try {
      while (off < chunk.length) {
        this.pushed = false;
        off = this.consume(chunk, off);
        // Pause only right after a push: a push is what re-arms Readable to call _read again
        // (pausing without one, e.g. on a resume that only gathered input, would stall the stream).
        if (off < chunk.length && this.pushed && this.readableLength >= this.readableHighWaterMark) {
          const at = off;
          this.continuation = () => this.run(chunk, at, callback);
          return;
        }
      }
    } catch (err) {
      callback(err as Error);
      return;
    }
    callback();
  }
}

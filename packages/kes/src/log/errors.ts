// The error log (pino): to stderr when `log.error: on`, and to live /v1/log/error subscribers.
// Lines carry "message" (KES's error-log field name) so KES tooling reads them.
import { pino, type Logger } from 'pino';

type Subscriber = (line: string) => void;

export class ErrorLog {
  readonly logger: Logger;
  readonly #subscribers = new Set<Subscriber>();

  constructor(toStderr: boolean, onLine: () => void = () => {}) {
    const subscribers = this.#subscribers;
    this.logger = pino(
      { messageKey: 'message', base: { pid: process.pid }, timestamp: pino.stdTimeFunctions.isoTime },
      {
        write(line: string) {
          onLine();
          if (toStderr) process.stderr.write(line);
          for (const s of subscribers) s(line);
        },
      },
    );
  }

  subscribe(s: Subscriber): () => void {
    this.#subscribers.add(s);
    return () => this.#subscribers.delete(s);
  }

  close(): void {
    this.#subscribers.clear();
  }
}

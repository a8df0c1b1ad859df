// The server's log (pino): JSON lines on stdout in the shape the gateway writes too (@kesgate/log), unless `log.error: off`.
// Two loggers share the output: `logger` (errors and state changes), whose lines also go to live
// /v1/log/error subscribers with KES's "message" field beside "msg" so KES tooling reads them, and
// `requests`, one line per answered request, for the process output only.
import { pino, type DestinationStream, type Level, type Logger } from 'pino';
import { logOptions, logOutput, type LogFormat } from '@kesgate/log';

type Subscriber = (line: string) => void;

export interface ErrorLogOptions {
  /** `log.error`: write to the output at all. */
  enabled: boolean;
  level: Level;
  format: LogFormat;
  /** Instead of stdout (tests). */
  destination?: DestinationStream;
}

/** A pino line with KES's error-log field `message` (= msg) added, for /v1/log/error. */
function withMessage(line: string): string {
  try {
    const entry = JSON.parse(line) as { msg?: unknown };
    return `${JSON.stringify({ message: entry.msg, ...entry })}\n`;
  } catch {
    return line;
  }
}

export class ErrorLog {
  readonly logger: Logger;
  readonly requests: Logger;
  /** For `log.audit: stdout`: written whether or not `log.error` is on. */
  readonly audit: Logger;
  readonly #subscribers = new Set<Subscriber>();

  constructor(options: ErrorLogOptions, onLine: () => void = () => {}) {
    const subscribers = this.#subscribers;
    const output = options.destination ?? logOutput(options.format);
    const out = options.enabled ? output : undefined;
    const opts = logOptions('kes', options.level);
    this.logger = pino(opts, {
      write(line: string) {
        onLine();
        out?.write(line);
        if (subscribers.size > 0) {
          const shown = withMessage(line);
          for (const s of subscribers) s(shown);
        }
      },
    });
    this.requests = out ? pino(opts, out) : pino({ ...opts, level: 'silent' });
    this.audit = pino({ ...opts, level: 'info' }, output);
  }

  subscribe(s: Subscriber): () => void {
    this.#subscribers.add(s);
    return () => this.#subscribers.delete(s);
  }

  close(): void {
    this.#subscribers.clear();
  }
}

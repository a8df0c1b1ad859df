// What the CLI reads from the operator: secrets typed at a terminal without echo, or the lines
// of a pipe (shares, passphrases, base64 keys) when stdin is not a terminal. Secrets never come
// from flags, which end up in shell history and in `ps`.
import { createInterface, type Interface } from 'node:readline';
import { createInterface as createPromptInterface } from 'node:readline/promises';
import { CliError } from './output.js';

export class Input {
  readonly #stdin: NodeJS.ReadableStream & { setRawMode?(mode: boolean): unknown };
  readonly #stderr: NodeJS.WritableStream;
  readonly #isTTY: boolean;
  #lines: AsyncIterator<string> | undefined;
  #reader: Interface | undefined;

  /** `stderr` carries the prompts; `isTTY`: stdin is a terminal. */
  constructor(stdin: NodeJS.ReadableStream & { setRawMode?(mode: boolean): unknown }, stderr: NodeJS.WritableStream, isTTY: boolean) {
    this.#stdin = stdin;
    this.#stderr = stderr;
    this.#isTTY = isTTY;
  }

  /** True when a person is typing (stdin is a terminal). */
  get interactive(): boolean {
    return this.#isTTY;
  }

  /** The next line of piped stdin (without its line ending), or undefined at its end. */
  async nextLine(): Promise<string | undefined> {
    this.#lines ??= this.#openLines();
    const r = await this.#lines.next();
    return r.done ? undefined : r.value;
  }

  /** The next line that is neither blank nor a `#` comment, trimmed. */
  async nextValue(): Promise<string | undefined> {
    for (;;) {
      const line = await this.nextLine();
      if (line === undefined) return undefined;
      const t = line.trim();
      if (t && !t.startsWith('#')) return t;
    }
  }

  /** A secret: typed without echo on a terminal, else the next non-blank line of stdin. */
  async secret(prompt: string): Promise<string | undefined> {
    if (!this.interactive) {
      for (;;) {
        const line = await this.nextLine();
        if (line === undefined) return undefined;
        if (line.trim()) return line.replace(/\r$/, '');
      }
    }
    return this.#hidden(prompt);
  }

  /** A visible answer typed at the terminal (confirmations). */
  async ask(question: string): Promise<string> {
    const rl = createPromptInterface({ input: this.#stdin, output: this.#stderr });
    try {
      return (await rl.question(question)).trim();
    } finally {
      rl.close();
    }
  }

  /** Everything on stdin, as text. */
  async readAll(): Promise<string> {
    const chunks: Buffer[] = [];
    for await (const c of this.#stdin) chunks.push(typeof c === 'string' ? Buffer.from(c) : (c as Buffer));
    return Buffer.concat(chunks).toString('utf8');
  }

  close(): void {
    this.#reader?.close();
  }

  #openLines(): AsyncIterator<string> {
    this.#reader = createInterface({ input: this.#stdin, crlfDelay: Infinity, terminal: false });
    return this.#reader[Symbol.asyncIterator]();
  }

  // Raw mode, one character at a time, so nothing typed is echoed (readline would echo it).
  #hidden(prompt: string): Promise<string | undefined> {
    const stdin = this.#stdin;
    const stderr = this.#stderr;
    return new Promise((resolve, reject) => {
      let value = '';
      const finish = (result: string | undefined, error?: Error) => {
        stdin.off('data', onData);
        stdin.setRawMode?.(false);
        stdin.pause();
        stderr.write('\n');
        if (error) reject(error);
        else resolve(result);
      };
      const onData = (chunk: Buffer | string) => {
        for (const ch of chunk.toString()) {
          if (ch === '\r' || ch === '\n') return finish(value);
          if (ch === '\u0003') return finish(undefined, new CliError('cancelled'));
          if (ch === '\u0004' && value === '') return finish(undefined);
          if (ch === '\u007f' || ch === '\b') value = value.slice(0, -1);
          else if (ch >= ' ') value += ch;
        }
      };
      // Echo goes off before the prompt shows, so nothing typed after it can be echoed.
      stdin.setRawMode?.(true);
      stderr.write(prompt);
      stdin.resume();
      stdin.on('data', onData);
    });
  }
}

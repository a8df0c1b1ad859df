// Prometheus metrics under KES's names, in a registry of their own (several servers may share a
// process in tests). success = 2xx/3xx, error = 4xx, failure = 5xx.
import { availableParallelism, cpus } from 'node:os';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';

export class Metrics {
  readonly registry = new Registry();
  readonly #success: Counter;
  readonly #error: Counter;
  readonly #failure: Counter;
  readonly #active: Gauge;
  readonly #responseTime: Histogram;
  readonly #duration: Histogram<'api'>;
  readonly #auditEvents: Counter;
  readonly #errorEvents: Counter;
  readonly #bulkItems: Counter<'api'>;

  constructor(startedAt: Date) {
    const registers = [this.registry];
    this.#success = new Counter({ name: 'kes_http_request_success', help: 'Requests answered with a 2xx status.', registers });
    this.#error = new Counter({ name: 'kes_http_request_error', help: 'Requests answered with a 4xx status.', registers });
    this.#failure = new Counter({ name: 'kes_http_request_failure', help: 'Requests answered with a 5xx status.', registers });
    this.#active = new Gauge({ name: 'kes_http_request_active', help: 'Requests being served.', registers });
    this.#responseTime = new Histogram({
      name: 'kes_http_response_time',
      help: 'Time to answer a request, in seconds.',
      buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10],
      registers,
    });
    this.#duration = new Histogram({
      name: 'kes_http_request_duration_seconds',
      help: 'Time to answer a request, in seconds, by API route (unknown: no such route).',
      labelNames: ['api'] as const,
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5, 15],
      registers,
    });
    this.#bulkItems = new Counter({
      name: 'kes_http_bulk_items',
      help: 'Items carried by answered bulk requests (each a data key generated or decrypted), by API route.',
      labelNames: ['api'] as const,
      registers,
    });
    this.#auditEvents = new Counter({ name: 'kes_log_audit_events', help: 'Audit log events written.', registers });
    this.#errorEvents = new Counter({ name: 'kes_log_error_events', help: 'Error log lines written.', registers });
    const gauge = (name: string, help: string, value: () => number) =>
      new Gauge({
        name,
        help,
        registers,
        collect() {
          this.set(value());
        },
      });
    gauge('kes_system_up_time', 'Seconds since the server started.', () => (Date.now() - startedAt.getTime()) / 1000);
    gauge('kes_system_num_cpu', 'CPUs of the host.', () => cpus().length);
    gauge('kes_system_num_cpu_used', 'CPUs the process may use.', () => availableParallelism());
    gauge('kes_system_mem_heap_used', 'Heap bytes in use.', () => process.memoryUsage().heapUsed);
    gauge('kes_system_mem_heap_objects', 'Heap bytes allocated (total heap).', () => process.memoryUsage().heapTotal);
    gauge('kes_system_mem_stack_used', 'Resident set size in bytes (Node has no stack figure).', () => process.memoryUsage().rss);
  }

  requestStarted(): void {
    this.#active.inc();
  }

  /** `api`: the route's path as /v1/api lists it (`/v1/key/generate/`), undefined when no route matched. */
  requestFinished(status: number, seconds: number, api?: string): void {
    this.#active.dec();
    if (status >= 500) this.#failure.inc();
    else if (status >= 400) this.#error.inc();
    else this.#success.inc();
    this.#responseTime.observe(seconds);
    this.#duration.observe({ api: api ?? 'unknown' }, seconds);
  }

  /** A bulk request answered with `n` items. */
  bulkItems(api: string, n: number): void {
    this.#bulkItems.inc({ api }, n);
  }

  auditEvent(): void {
    this.#auditEvents.inc();
  }

  errorEvent(): void {
    this.#errorEvents.inc();
  }

  async render(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }
}

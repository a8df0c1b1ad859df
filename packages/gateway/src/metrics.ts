import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** The gateway's Prometheus metrics. One registry per gateway, so tests can run several side by side. */
export class GatewayMetrics {
  readonly registry = new Registry();
  readonly requests = new Counter({
    name: 'kesgate_requests_total',
    help: 'S3 requests by operation and HTTP status',
    labelNames: ['operation', 'status'] as const,
    registers: [this.registry],
  });
  readonly requestDuration = new Histogram({
    name: 'kesgate_request_duration_seconds',
    help: 'Time from a request to its last response byte, by S3 operation',
    labelNames: ['operation'] as const,
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
    registers: [this.registry],
  });
  readonly bytesIn = new Counter({ name: 'kesgate_bytes_received_total', help: 'Request body bytes received', registers: [this.registry] });
  readonly bytesOut = new Counter({ name: 'kesgate_bytes_sent_total', help: 'Response body bytes sent', registers: [this.registry] });
  readonly kms = new Histogram({
    name: 'kesgate_kms_request_duration_seconds',
    help: 'Latency of calls to kes by operation and outcome',
    labelNames: ['operation', 'outcome'] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10],
    registers: [this.registry],
  });
  readonly kmsCache = new Counter({
    name: 'kesgate_kms_cache_lookups_total',
    help: 'Lookups of unwrapped data keys in the gateway key cache, by result (hit, miss); a miss asks kes',
    labelNames: ['result'] as const,
    registers: [this.registry],
  });
  readonly rotated = new Counter({
    name: 'kesgate_rotation_objects_total',
    help: 'Objects handled by rotation jobs, by result (rotated, skipped, failed)',
    labelNames: ['result'] as const,
    registers: [this.registry],
  });

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: 'kesgate_' });
  }
}

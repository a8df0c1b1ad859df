import type { Request, Response } from 'express';
import type { Logger } from 'pino';
import type { GatewayConfig } from '../config/load.js';
import type { GatewayMetrics } from '../metrics.js';
import type { ObjectServiceDeps } from '../object-service/deps.js';
import type { GatewayInstance } from '../storage/metadata/types.js';
import type { BackendInfo } from '../storage/object-store.js';

/** Everything a handler may use, built once per gateway. */
export interface GatewayServices extends ObjectServiceDeps {
  config: GatewayConfig;
  logger: Logger;
  metrics: GatewayMetrics;
  /** The backend's description (no secrets) and where rotation jobs live. */
  backend: BackendInfo;
  /** This gateway among those sharing the metadata store: the holder of its leases. */
  instance: GatewayInstance;
}

/** One S3 request, addressed and parsed enough for dispatch. */
export interface S3Call {
  req: Request;
  res: Response;
  bucket: string;
  key: string;
  query: URLSearchParams;
  svc: GatewayServices;
}

export type S3Handler = (call: S3Call) => Promise<void>;

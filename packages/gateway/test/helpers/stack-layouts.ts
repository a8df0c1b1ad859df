// The layouts the S3 end-to-end suites run on: the embedded default (one gateway, SQLite + files) and the
// cluster (two gateways alternating requests, PostgreSQL + an upstream bucket on moto). A suite loops over
// them and registers its tests once per layout, skipped with the reason where a layout cannot run here.
import { clusterSkipReason } from './cluster-services.js';
import { startClusterStack } from './cluster-stack.js';
import { startStack, type Stack, type StackOptions } from './stack.js';

export interface StackLayout {
  name: string;
  skip: string | false;
  start(options?: StackOptions): Promise<Stack>;
}

export const stackLayouts: StackLayout[] = [
  { name: 'embedded (sqlite + fs)', skip: false, start: startStack },
  { name: 'cluster (two gateways, postgres + s3 on moto)', skip: clusterSkipReason(), start: startClusterStack },
];

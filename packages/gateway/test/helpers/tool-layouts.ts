// The layouts the suites of outside tools (AWS CLI, boto3) run on: the embedded default, and the cluster
// (two gateways on PostgreSQL + moto). A tool talks to one address, so on the cluster it talks to a
// round-robin balancer in front of both gateways' HTTP and HTTPS ports, one connection to one gateway and
// the next to the other — what the compose file's haproxy does.
import { clusterSkipReason } from './cluster-services.js';
import { startClusterStack } from './cluster-stack.js';
import { startRoundRobinProxy } from './round-robin-proxy.js';
import { startStack, type Stack, type StackOptions } from './stack.js';

export interface ToolStack {
  stack: Stack;
  /** Where the tool sends plain HTTP and HTTPS requests. */
  url: string;
  httpsUrl: string;
  /** Per gateway, how many connections the tool opened to it (one entry for the embedded layout). */
  connections(): number[];
  close(): Promise<void>;
}

export interface ToolLayout {
  name: string;
  skip: string | false;
  /** Several gateways behind a balancer: a suite checks its tool's connections reached each. */
  balanced: boolean;
  start(options?: StackOptions): Promise<ToolStack>;
}

const portOf = (url: string): number => Number(new URL(url).port);

async function embedded(options?: StackOptions): Promise<ToolStack> {
  const stack = await startStack(options);
  return { stack, url: stack.gw.url, httpsUrl: stack.gw.httpsUrl!, connections: () => [], close: () => stack.close() };
}

async function cluster(options?: StackOptions): Promise<ToolStack> {
  const stack = await startClusterStack(options);
  const http = await startRoundRobinProxy(() => stack.gateways.map((g) => portOf(g.url)));
  const https = await startRoundRobinProxy(() => stack.gateways.map((g) => portOf(g.httpsUrl!)));
  return {
    stack,
    url: `http://127.0.0.1:${http.port}`,
    httpsUrl: `https://127.0.0.1:${https.port}`,
    connections: () => http.connections().map((n, i) => n + (https.connections()[i] ?? 0)),
    close: async () => {
      await http.close();
      await https.close();
      await stack.close();
    },
  };
}

export const embeddedToolLayout: ToolLayout = { name: 'embedded (sqlite + fs)', skip: false, balanced: false, start: embedded };
export const clusterToolLayout: ToolLayout = {
  name: 'cluster (two gateways behind a round-robin balancer, postgres + s3 on moto)',
  skip: clusterSkipReason(),
  balanced: true,
  start: cluster,
};
export const toolLayouts: ToolLayout[] = [embeddedToolLayout, clusterToolLayout];

// /v1/log/audit and /v1/log/error — NDJSON streams of live events for as long as the client stays.
import { route, type AppDeps, type Route, type RouteContext } from '../route.js';

function stream(c: RouteContext, subscribe: (f: (line: string) => void) => () => void): 'streaming' {
  c.res.statusCode = 200;
  c.res.setHeader('Content-Type', 'application/x-ndjson');
  c.res.setHeader('Cache-Control', 'no-store');
  c.res.flushHeaders();
  const unsubscribe = subscribe((line) => c.res.write(line));
  c.res.on('close', unsubscribe);
  return 'streaming';
}

export function logRoutes({ audit, errorLog }: AppDeps): Route[] {
  return [
    route('GET', '/v1/log/audit', { timeout: 0 }, (c) => stream(c, (f) => audit.subscribe(f))),
    route('GET', '/v1/log/error', { timeout: 0 }, (c) => stream(c, (f) => errorLog.subscribe(f))),
  ];
}

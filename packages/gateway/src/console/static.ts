// The console's built files (packages/console/dist, made by `npm run build`), or a page saying how to build them.
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import express, { type Router } from 'express';

/** Where the built console is: next to these sources, or next to the bundle in dist/ (or its chunk in dist/chunks/). */
export function findConsoleDir(configured?: string): string {
  if (configured) return configured;
  const here = dirname(fileURLToPath(import.meta.url));
  const candidates = [
    resolve(here, '../../../console/dist'),
    resolve(here, '../packages/console/dist'),
    resolve(here, '../../packages/console/dist'),
  ];
  // Not built: the one inside the console's workspace (its package.json beside it), for the message that says to build it.
  return (
    candidates.find((d) => existsSync(join(d, 'index.html'))) ??
    candidates.find((d) => existsSync(join(d, '../package.json'))) ??
    candidates[0]!
  );
}

export function consoleFiles(dir: string): Router {
  const router = express.Router();
  // Looked up per request: `npm run build` while the gateway runs makes the console appear.
  router.use((req, res, next) => {
    if (existsSync(join(dir, 'index.html'))) {
      next();
      return;
    }
    res.locals.operation = 'Console';
    res
      .status(503)
      .type('text/plain')
      .send(`The operator console is not built: run "npm run build" in the kesgate repository (it writes ${dir}), then reload.\n`);
  });
  // Hashed asset names never change content: cache them; index.html always revalidates.
  router.use('/assets', express.static(join(dir, 'assets'), { immutable: true, maxAge: '1y', index: false, fallthrough: false }));
  router.get('/', (_req, res) => {
    res.setHeader('Cache-Control', 'no-cache');
    res.sendFile(join(dir, 'index.html'));
  });
  router.use(express.static(dir, { index: false }));
  return router;
}

// The `console:` section of gateway.yaml: the operator console at /console/ (on unless `enabled: false`).
import { z } from 'zod';

export const consoleConfigSchema = z
  .object({
    enabled: z.boolean().default(true),
    /** The built console (packages/console/dist); found next to the sources or the bundle when absent. */
    dir: z.string().min(1).optional(),
    /** A session ends this long after its last request. */
    sessionTtlSeconds: z.number().int().positive().max(86_400).default(1800),
    /** Console users besides the root credentials: they may sign in to the console, not sign S3 requests. */
    users: z
      .array(z.object({ accessKey: z.string().min(3), secretKey: z.string().min(8, 'expected at least 8 characters') }).strict())
      .default([]),
    /**
     * The console's own identity at kes (its policy: CONSOLE_KES_ROUTES). Without it the kes pages are
     * read-only, seen through the gateway's identity. kes's endpoints and CA are those of `kms`.
     */
    kes: z
      .object({ cert: z.string().min(1), key: z.string().min(1) })
      .strict()
      .optional(),
  })
  .strict();

export type ConsoleConfig = z.infer<typeof consoleConfigSchema>;

export const CONSOLE_DEFAULTS: ConsoleConfig = { enabled: true, sessionTtlSeconds: 1800, users: [] };

export function resolveConsolePaths(c: ConsoleConfig, abs: (p: string) => string): ConsoleConfig {
  return {
    ...c,
    ...(c.dir ? { dir: abs(c.dir) } : {}),
    ...(c.kes ? { kes: { cert: abs(c.kes.cert), key: abs(c.kes.key) } } : {}),
  };
}

/**
 * The kes API paths the console calls with its own identity: exactly what its pages do (list, describe,
 * create, rotate, seal, unseal and delete keys; seal and unseal kes; its status; the audit stream).
 * `npm start` writes this policy into kes.yaml; operators copy it into theirs.
 */
export const CONSOLE_KES_ROUTES = [
  '/v1/key/list/*',
  '/v1/key/describe/*',
  '/v1/key/create/*',
  '/v1/key/rotate/*',
  '/v1/key/seal/*',
  '/v1/key/unseal/*',
  '/v1/key/delete/*',
  '/v1/sys/seal',
  '/v1/sys/unseal',
  '/v1/sys/seal-status',
  '/v1/status',
  '/v1/log/audit',
] as const;

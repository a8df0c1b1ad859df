// The log shape kes and the gateway share, checked on the lines a logger writes. The servers' own log suites
// (gateway test/e2e/log-shape.test.ts, kes test/logs-metrics.test.ts) check it on the running processes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createLogger, logFormat } from '@kesgate/log';

function capture(service: string, level: 'info' | 'debug') {
  const lines: string[] = [];
  const logger = createLogger(service, level, 'json', {
    write: (l: string) => void lines.push(...l.split('\n').filter((x) => x !== '')),
  });
  return { logger, entries: (): Record<string, unknown>[] => lines.map((l) => JSON.parse(l) as Record<string, unknown>) };
}

test('one JSON object per line: level as a label, time as an ISO string, service, pid, msg and the fields given', () => {
  const { logger, entries } = capture('kes', 'info');
  logger.info({ key: 'my-key' }, 'created');
  logger.debug('not written below the level');
  logger.warn('sealed');
  const [created, sealed, ...rest] = entries();
  assert.equal(rest.length, 0, 'the debug line is not written at info');
  assert.deepEqual(Object.keys(created!).sort(), ['key', 'level', 'msg', 'pid', 'service', 'time']);
  assert.equal(created!.level, 'info');
  assert.equal(created!.service, 'kes');
  assert.equal(created!.pid, process.pid);
  assert.equal(created!.msg, 'created');
  assert.equal(created!.key, 'my-key');
  assert.equal(new Date(created!.time as string).toISOString(), created!.time);
  assert.equal(sealed!.level, 'warn');
});

test('KESGATE_LOG_FORMAT wins over the configured format; anything but json or pretty is refused, naming the value', () => {
  assert.equal(logFormat('json', {}), 'json');
  assert.equal(logFormat('pretty', { KESGATE_LOG_FORMAT: '' }), 'pretty');
  assert.equal(logFormat('json', { KESGATE_LOG_FORMAT: ' Pretty ' }), 'pretty');
  assert.equal(logFormat('pretty', { KESGATE_LOG_FORMAT: 'json' }), 'json');
  assert.throws(() => logFormat('json', { KESGATE_LOG_FORMAT: 'xml' }), /KESGATE_LOG_FORMAT must be json or pretty, not "xml"/);
});

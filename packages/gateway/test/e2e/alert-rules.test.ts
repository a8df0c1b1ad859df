// docker/prometheus/alerts.yaml: every metric its expressions name is one a running kes or gateway exports
// (a renamed metric would leave an alert that never fires), and, where promtool is installed (Debian's
// prometheus package), the rules pass `promtool check rules` and their unit tests (alerts.test.yaml).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CreateBucketCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { parse } from 'yaml';
import { startStack } from '../helpers/stack.js';

const rulesDir = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', '..', 'docker', 'prometheus');
const PROMTOOL = '/usr/bin/promtool';

interface Rule {
  alert: string;
  expr: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

const PROMQL_WORDS = new Set([
  'sum',
  'max',
  'min',
  'avg',
  'count',
  'rate',
  'irate',
  'increase',
  'histogram_quantile',
  'by',
  'without',
  'on',
  'ignoring',
  'and',
  'or',
  'unless',
  'bool',
  'group_left',
  'group_right',
  'clamp_min',
  'absent',
  'offset',
]);

/** The metric names an expression reads: identifiers left once label matchers, groupings, ranges and strings are removed. */
function metricsOf(expr: string): string[] {
  const bare = expr
    .replace(/"(?:[^"\\]|\\.)*"/g, '')
    .replace(/\{[^}]*\}/g, ' ')
    .replace(/\b(by|without|on|ignoring)\s*\([^)]*\)/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ');
  return [...new Set(bare.match(/[a-zA-Z_:][a-zA-Z0-9_:]*/g) ?? [])].filter((w) => !PROMQL_WORDS.has(w) && !/^\d/.test(w));
}

test('every alert expression names metrics the gateway and kes export; kes sealed, kes down and error rate are covered', async () => {
  const doc = parse(readFileSync(join(rulesDir, 'alerts.yaml'), 'utf8')) as { groups: { name: string; rules: Rule[] }[] };
  const rules = doc.groups.flatMap((g) => g.rules);
  const names = rules.map((r) => r.alert);
  for (const needed of ['KesSealed', 'KesDown', 'KesgateErrorRate']) assert.ok(names.includes(needed), `an alert ${needed}`);
  for (const r of rules) {
    assert.ok(r.labels?.severity, `${r.alert} has a severity`);
    assert.ok(r.annotations?.summary, `${r.alert} has a summary`);
  }

  const st = await startStack();
  let exported: string;
  try {
    await st.s3.send(new CreateBucketCommand({ Bucket: 'alerts' }));
    await st.s3.send(new PutObjectCommand({ Bucket: 'alerts', Key: 'x', Body: 'x', ServerSideEncryption: 'AES256' }));
    const gateway = await (await fetch(`${st.gw.url}/metrics`)).text();
    const kes = await st.kesAdmin.call('GET', '/v1/metrics');
    assert.equal(kes.status, 200);
    exported = `${gateway}\n${kes.body.toString('utf8')}`;
  } finally {
    await st.close();
  }
  const series = new Set(
    exported
      .split('\n')
      .filter((l) => l && !l.startsWith('#'))
      .map((l) => /^[a-zA-Z_:][a-zA-Z0-9_:]*/.exec(l)![0]),
  );
  for (const r of rules) {
    const used = metricsOf(r.expr);
    assert.ok(used.length > 0, `${r.alert} reads a metric`);
    for (const m of used) assert.ok(series.has(m), `${r.alert} reads ${m}, which neither the gateway nor kes exports`);
  }
});

test(
  'promtool check rules and promtool test rules pass',
  { skip: !existsSync(PROMTOOL) && `${PROMTOOL} is not installed (apt-get install prometheus)` },
  () => {
    const check = execFileSync(PROMTOOL, ['check', 'rules', 'alerts.yaml'], { cwd: rulesDir, encoding: 'utf8' });
    assert.match(check, /SUCCESS: \d+ rules found/);
    const unit = execFileSync(PROMTOOL, ['test', 'rules', 'alerts.test.yaml'], { cwd: rulesDir, encoding: 'utf8' });
    assert.match(unit, /SUCCESS/);
  },
);

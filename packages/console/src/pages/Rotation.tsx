import { useRef, useState } from 'preact/hooks';
import { api, enc, type BucketRow, type KeysAnswer, type RotationJob, type SessionInfo } from '../api';
import { Badge, Loading, Message, Progress, Section } from '../components';
import { when } from '../format';
import { useAction, useLoad } from '../hooks';

function percent(j: RotationJob): number {
  if (j.state === 'done') return 100;
  if (!j.total) return 0;
  return (j.counters.scanned / j.total) * 100;
}

export function RotationPage({ session }: { session: SessionInfo }) {
  // Poll fast while a job runs, so its bar moves; slowly otherwise.
  const running = useRef(false);
  const jobs = useLoad(
    (bg) => api<{ jobs: RotationJob[] }>('GET', '/rotation', undefined, bg),
    [],
    () => (running.current ? 500 : 5000),
  );
  running.current = (jobs.data?.jobs ?? []).some((j) => j.state === 'running');
  const buckets = useLoad(() => api<{ buckets: BucketRow[] }>('GET', '/buckets'), []);
  const keys = useLoad(() => api<KeysAnswer>('GET', '/keys'), []);
  const action = useAction();
  const [bucket, setBucket] = useState('');
  const [prefix, setPrefix] = useState('');
  const [fromKey, setFromKey] = useState('');
  const [toKey, setToKey] = useState('');
  const [dryRun, setDryRun] = useState(false);

  const start = (e: Event) => {
    e.preventDefault();
    void action.run(async () => {
      const job = await api<RotationJob>('POST', '/rotation', {
        bucket: bucket || buckets.data?.buckets[0]?.name,
        ...(prefix ? { prefix } : {}),
        ...(fromKey ? { fromKey } : {}),
        ...(toKey ? { toKey } : {}),
        dryRun,
      });
      await jobs.reload();
      return `Rotation job ${job.id} started${job.dryRun ? ' (dry run)' : ''}.`;
    });
  };
  const cancel = (id: string) =>
    void action.run(async () => {
      await api('DELETE', `/rotation/${enc(id)}`);
      await jobs.reload();
      return `Cancelling job ${id}.`;
    });

  const keyNames = (keys.data?.keys ?? []).map((k) => k.name);
  return (
    <>
      <Section title="Start a rotation">
        <p class="muted">
          Re-wraps the object keys of a bucket (or prefix) under another master key. Only metadata changes; object data is not rewritten.
        </p>
        <form class="form-grid" onSubmit={start}>
          <label>
            Bucket
            <select value={bucket} onChange={(e) => setBucket(e.currentTarget.value)} required>
              {(buckets.data?.buckets ?? []).map((b) => (
                <option value={b.name} key={b.name}>
                  {b.name}
                </option>
              ))}
            </select>
          </label>
          <label>
            Prefix
            <input value={prefix} placeholder="(whole bucket)" onInput={(e) => setPrefix(e.currentTarget.value)} />
          </label>
          <label>
            From key
            <input list="rotation-keys" value={fromKey} placeholder="(any key)" onInput={(e) => setFromKey(e.currentTarget.value)} />
          </label>
          <label>
            To key
            <input list="rotation-keys" value={toKey} placeholder={session.defaultKey} onInput={(e) => setToKey(e.currentTarget.value)} />
          </label>
          <datalist id="rotation-keys">
            {keyNames.map((n) => (
              <option value={n} key={n} />
            ))}
          </datalist>
          <label class="check">
            <input type="checkbox" checked={dryRun} onChange={(e) => setDryRun(e.currentTarget.checked)} />
            Dry run
          </label>
          <button type="submit" disabled={action.busy || (buckets.data?.buckets.length ?? 0) === 0}>
            Start rotation
          </button>
        </form>
        <Message message={action.message} />
      </Section>
      <Section title="Jobs">
        {!jobs.data ? (
          <Loading error={jobs.error} />
        ) : jobs.data.jobs.length === 0 ? (
          <p class="muted">No rotation jobs yet.</p>
        ) : (
          <table>
            <thead>
              <tr>
                <th scope="col">Job</th>
                <th scope="col">What</th>
                <th scope="col">Progress</th>
                <th scope="col">Counts</th>
                <th scope="col">State</th>
                <th scope="col">Actions</th>
              </tr>
            </thead>
            <tbody>
              {jobs.data.jobs.map((j) => (
                <tr key={j.id}>
                  <td>
                    <code>{j.id.slice(0, 8)}</code>
                    <div class="muted small">{when(j.createdAt)}</div>
                  </td>
                  <td>
                    {j.bucket}
                    {j.prefix ? `/${j.prefix}` : ''}: {j.fromKey ?? 'any key'} → {j.toKey}
                    {j.dryRun && <Badge kind="muted">dry run</Badge>}
                  </td>
                  <td class="wide">
                    <Progress value={percent(j)} label={`Rotation of ${j.bucket} to ${j.toKey}`} />
                  </td>
                  <td class="small">
                    {j.counters.scanned}
                    {j.total !== undefined ? ` of ${j.total}` : ''} scanned, {j.counters.rotated} rotated, {j.counters.skipped} skipped,{' '}
                    {j.counters.failed} failed
                    {j.error && <div class="error-text">{j.error}</div>}
                    {j.failures.slice(0, 3).map((f) => (
                      <div class="error-text" key={f.key}>
                        {f.key}: {f.error}
                      </div>
                    ))}
                  </td>
                  <td>
                    <Badge
                      kind={
                        j.state === 'done'
                          ? 'good'
                          : j.state === 'running'
                            ? 'warn'
                            : j.state === 'failed' || j.state === 'incomplete'
                              ? 'bad'
                              : 'muted'
                      }
                    >
                      {j.state}
                    </Badge>
                  </td>
                  <td>
                    {j.state === 'running' && !j.cancelRequested && (
                      <button type="button" class="secondary" onClick={() => cancel(j.id)}>
                        Cancel
                      </button>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </Section>
    </>
  );
}

import { api, type Overview, type SessionInfo } from '../api';
import { Badge, Loading, Section } from '../components';
import { bytes } from '../format';
import { useLoad } from '../hooks';

export function OverviewPage(_: { session: SessionInfo }) {
  const { data, error } = useLoad((bg) => api<Overview>('GET', '/overview', undefined, bg), [], 5000);
  if (!data) return <Loading error={error} />;
  const { backend, kes } = data;
  const stats = backend.stats;
  return (
    <div class="grid">
      <Section title="kes">
        <table>
          <thead>
            <tr>
              <th scope="col">Endpoint</th>
              <th scope="col">State</th>
              <th scope="col">Unseal progress</th>
              <th scope="col">Latency</th>
              <th scope="col">Version</th>
            </tr>
          </thead>
          <tbody>
            {kes.endpoints.map((e) => (
              <tr key={e.endpoint}>
                <td>{e.endpoint}</td>
                <td>
                  {!e.online ? (
                    <Badge kind="bad">offline</Badge>
                  ) : e.sealed ? (
                    <Badge kind="warn">sealed</Badge>
                  ) : (
                    <Badge kind="good">online, unsealed</Badge>
                  )}
                  {e.error && <div class="muted small">{e.error}</div>}
                </td>
                <td>{e.unseal ? `${e.unseal.progress} of ${e.unseal.threshold} shares` : '—'}</td>
                <td>{e.latencyMs !== undefined ? `${e.latencyMs} ms` : '—'}</td>
                <td>{e.version ?? '—'}</td>
              </tr>
            ))}
          </tbody>
        </table>
        <p>
          Default key <strong>{kes.defaultKey.name}</strong>{' '}
          {kes.defaultKey.error ? (
            <span class="muted">({kes.defaultKey.error})</span>
          ) : (
            <>
              <Badge kind={kes.defaultKey.state === 'sealed' ? 'warn' : 'good'}>{kes.defaultKey.state ?? 'active'}</Badge>{' '}
              {kes.defaultKey.latestVersion && <span class="muted">latest version {kes.defaultKey.latestVersion}</span>}
            </>
          )}
        </p>
      </Section>
      <Section title="Backend">
        <dl class="facts">
          <dt>Metadata store ({backend.metadata.kind})</dt>
          <dd>{health(backend.health.metadata)}</dd>
          <dt>Blob store ({backend.blobs.kind})</dt>
          <dd>{health(backend.health.blobs)}</dd>
          <dt>Region</dt>
          <dd>{data.region}</dd>
          <dt>Gateways sharing the store</dt>
          <dd>{backend.gateways ? backend.gateways.length : '—'}</dd>
          <dt>Rotation jobs running</dt>
          <dd>{data.rotation.running ?? data.rotation.error ?? '—'}</dd>
        </dl>
      </Section>
      <Section title="Objects">
        {stats ? (
          <>
            <dl class="facts">
              <dt>Buckets</dt>
              <dd>{stats.buckets}</dd>
              <dt>Objects</dt>
              <dd>{stats.objects}</dd>
              <dt>Plaintext bytes</dt>
              <dd>{bytes(stats.bytes)}</dd>
              <dt>Stored (encrypted) bytes</dt>
              <dd>{bytes(stats.storedBytes)}</dd>
              <dt>Unfinished uploads</dt>
              <dd>{stats.uploads}</dd>
            </dl>
            <BySseMode totals={backend.sseTotals ?? []} />
          </>
        ) : (
          <p class="muted">The metadata store does not answer.</p>
        )}
      </Section>
    </div>
  );
}

/** Every SSE mode, with none where nothing is stored under it; every stored version counts, as in the totals. */
const MODES = ['SSE-S3', 'SSE-KMS', 'SSE-C'];

function BySseMode({ totals }: { totals: { sse: string; objects: number; bytes: number; storedBytes: number }[] }) {
  const rows = [...MODES, ...totals.map((t) => t.sse).filter((m) => !MODES.includes(m))];
  return (
    <table aria-label="Objects by SSE mode">
      <caption>By SSE mode (every stored version)</caption>
      <thead>
        <tr>
          <th scope="col">SSE mode</th>
          <th scope="col">Objects</th>
          <th scope="col">Plaintext bytes</th>
          <th scope="col">Stored bytes</th>
        </tr>
      </thead>
      <tbody>
        {rows.map((mode) => {
          const t = totals.find((x) => x.sse === mode) ?? { objects: 0, bytes: 0, storedBytes: 0 };
          return (
            <tr key={mode}>
              <th scope="row">{mode}</th>
              <td>{t.objects}</td>
              <td>{bytes(t.bytes)}</td>
              <td>{bytes(t.storedBytes)}</td>
            </tr>
          );
        })}
      </tbody>
    </table>
  );
}

function health(h: { reachable: boolean; latencyMs?: number; error?: string }) {
  return h.reachable ? (
    <span class="nowrap">
      <Badge kind="good">answers</Badge> {h.latencyMs !== undefined && <span class="muted">{Math.round(h.latencyMs)} ms</span>}
    </span>
  ) : (
    <>
      <Badge kind="bad">does not answer</Badge> <span class="muted">{h.error}</span>
    </>
  );
}

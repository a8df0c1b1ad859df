import { useState } from 'preact/hooks';
import { api, type AuditEntry, type SessionInfo } from '../api';
import { Loading, Notice, Section } from '../components';
import { when } from '../format';
import { useLoad } from '../hooks';

interface AuditAnswer {
  entries: AuditEntry[];
  connected: boolean;
  error?: string;
}

export function AuditPage(_: { session: SessionInfo }) {
  const [identity, setIdentity] = useState('');
  const [key, setKey] = useState('');
  const [status, setStatus] = useState('');
  const q = new URLSearchParams({ ...(identity ? { identity } : {}), ...(key ? { key } : {}), ...(status ? { status } : {}) }).toString();
  const { data, error } = useLoad((bg) => api<AuditAnswer>('GET', `/audit${q ? `?${q}` : ''}`, undefined, bg), [q], 3000);
  return (
    <Section title="kes audit log">
      <form class="inline" onSubmit={(e) => e.preventDefault()} aria-label="Filter">
        <label>
          Identity
          <input value={identity} placeholder="any, or gateway / console" onInput={(e) => setIdentity(e.currentTarget.value)} />
        </label>
        <label>
          Key
          <input value={key} placeholder="any" onInput={(e) => setKey(e.currentTarget.value)} />
        </label>
        <label>
          Status
          <input value={status} placeholder="e.g. 403 or 4xx" size={8} onInput={(e) => setStatus(e.currentTarget.value)} />
        </label>
      </form>
      {!data ? (
        <Loading error={error} />
      ) : (
        <>
          {data.error && <Notice kind="warn">{data.error}</Notice>}
          <p class="muted small">
            The newest entries kes has logged since this gateway started{data.connected ? '' : ' (not connected to kes right now)'}.
          </p>
          <table>
            <thead>
              <tr>
                <th scope="col">Time</th>
                <th scope="col">Identity</th>
                <th scope="col">Request</th>
                <th scope="col">Key</th>
                <th scope="col">Status</th>
              </tr>
            </thead>
            <tbody>
              {data.entries.map((e, i) => (
                <tr key={`${e.time}-${i}`}>
                  <td class="small">{when(e.time)}</td>
                  <td>
                    {e.identityName && <span class="who">{e.identityName} </span>}
                    <code title={e.identity}>{e.identity.slice(0, 12)}…</code>
                  </td>
                  <td>
                    <code>
                      {e.method} {e.path}
                    </code>
                  </td>
                  <td>{e.key ?? '—'}</td>
                  <td class={e.status >= 400 ? 'error-text' : ''}>{e.status}</td>
                </tr>
              ))}
            </tbody>
          </table>
          {data.entries.length === 0 && <p class="muted">No entries match.</p>}
        </>
      )}
    </Section>
  );
}

import { useState } from 'preact/hooks';
import { api, type EndpointSeal, type KesEndpointState, type SessionInfo } from '../api';
import { Badge, Loading, Message, Notice, Progress, Section } from '../components';
import { useAction, useLoad } from '../hooks';

interface SealAnswer {
  writable: boolean;
  endpoints: KesEndpointState[];
}

export function SealPage(_: { session: SessionInfo }) {
  const { data, error, reload } = useLoad((bg) => api<SealAnswer>('GET', '/seal', undefined, bg), [], 3000);
  const action = useAction();
  const [confirming, setConfirming] = useState(false);
  const [share, setShare] = useState('');
  const [results, setResults] = useState<EndpointSeal[] | undefined>(undefined);

  if (!data) return <Loading error={error} />;
  const anySealed = data.endpoints.some((e) => e.sealed);
  const anyUnsealed = data.endpoints.some((e) => e.online && e.sealed === false);

  const seal = () =>
    void action.run(async () => {
      const r = await api<{ endpoints: EndpointSeal[] }>('POST', '/seal');
      setConfirming(false);
      setResults(r.endpoints);
      await reload();
      const failed = r.endpoints.filter((e) => e.error);
      if (failed.length) throw new Error(failed.map((e) => `${e.endpoint}: ${e.error}`).join('; '));
      return 'kes is sealed. Unseal it with the shares to read SSE-S3 and SSE-KMS objects again.';
    });

  const unseal = (e: Event) => {
    e.preventDefault();
    void action.run(async () => {
      const r = await api<{ endpoints: EndpointSeal[] }>('POST', '/unseal', { share });
      setShare('');
      setResults(r.endpoints);
      await reload();
      const failed = r.endpoints.filter((x) => x.error);
      if (failed.length) throw new Error(failed.map((x) => `${x.endpoint}: ${x.error}`).join('; '));
      const still = r.endpoints.filter((x) => x.status?.sealed);
      return still.length ? 'Share accepted. Enter the next share.' : 'kes is unsealed.';
    });
  };

  return (
    <>
      <Section title="Seal state">
        <Message message={action.message} />
        <table>
          <thead>
            <tr>
              <th scope="col">Endpoint</th>
              <th scope="col">State</th>
              <th scope="col">Unseal progress</th>
            </tr>
          </thead>
          <tbody>
            {data.endpoints.map((e) => {
              const r = results?.find((x) => x.endpoint === e.endpoint)?.status;
              const progress = e.unseal ?? (r?.sealed ? { threshold: r.t, shares: r.n, progress: r.progress } : undefined);
              return (
                <tr key={e.endpoint}>
                  <td>{e.endpoint}</td>
                  <td>
                    {!e.online ? (
                      <Badge kind="bad">offline</Badge>
                    ) : e.sealed ? (
                      <Badge kind="warn">sealed</Badge>
                    ) : (
                      <Badge kind="good">unsealed</Badge>
                    )}
                  </td>
                  <td>
                    {e.sealed && progress ? (
                      <>
                        <Progress value={(progress.progress / progress.threshold) * 100} label={`Unseal progress of ${e.endpoint}`} />
                        <span class="small">
                          {progress.progress} of {progress.threshold} shares
                        </span>
                      </>
                    ) : (
                      '—'
                    )}
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      </Section>
      {!data.writable ? (
        <Notice kind="info">Sealing and unsealing need the console's identity at kes.</Notice>
      ) : (
        <>
          {anyUnsealed && (
            <Section title="Seal kes">
              <p>
                Sealing drops every key from kes's memory: SSE-S3 and SSE-KMS objects cannot be read or written until kes is unsealed with a
                threshold of shares. SSE-C objects are not affected.
              </p>
              {confirming ? (
                <div class="inline">
                  <strong>Seal kes now?</strong>
                  <button type="button" class="danger" disabled={action.busy} onClick={seal}>
                    Seal kes
                  </button>
                  <button type="button" class="secondary" onClick={() => setConfirming(false)}>
                    Cancel
                  </button>
                </div>
              ) : (
                <button type="button" class="danger" onClick={() => setConfirming(true)}>
                  Seal kes…
                </button>
              )}
            </Section>
          )}
          {anySealed && (
            <Section title="Unseal kes">
              <p>Enter the unseal shares one at a time. Each share is sent to kes and forgotten; it is never stored or logged.</p>
              <form class="inline" onSubmit={unseal}>
                <label>
                  Unseal share
                  <input type="password" autoComplete="off" value={share} required onInput={(e) => setShare(e.currentTarget.value)} />
                </label>
                <button type="submit" disabled={action.busy || share.trim() === ''}>
                  Submit share
                </button>
              </form>
            </Section>
          )}
        </>
      )}
    </>
  );
}

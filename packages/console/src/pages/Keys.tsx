import { useState } from 'preact/hooks';
import { api, enc, type Dependents, type KeyRow, type KeysAnswer, type SessionInfo } from '../api';
import { Badge, Loading, Message, Notice, Section } from '../components';
import { useAction, useLoad } from '../hooks';

export function KeysPage(_: { session: SessionInfo }) {
  const { data, error, reload } = useLoad(() => api<KeysAnswer>('GET', '/keys'), []);
  const action = useAction();
  const [name, setName] = useState('');
  const [deleting, setDeleting] = useState<KeyRow | undefined>(undefined);

  const act = (verb: 'rotate' | 'seal' | 'unseal', key: string) =>
    action.run(async () => {
      await api('POST', `/keys/${enc(key)}/${verb}`);
      await reload();
      return verb === 'rotate'
        ? `Key ${key} rotated to a new version.`
        : verb === 'seal'
          ? `Key ${key} sealed: its objects cannot be read until it is unsealed.`
          : `Key ${key} unsealed.`;
    });

  const create = (e: Event) => {
    e.preventDefault();
    void action.run(async () => {
      await api('POST', '/keys', { name });
      await reload();
      const made = name;
      setName('');
      return `Key ${made} created.`;
    });
  };

  if (!data) return <Loading error={error} />;
  return (
    <>
      <Section title="Master keys">
        <Message message={action.message} />
        {data.truncated && <Notice kind="info">Only the first keys are shown.</Notice>}
        <table>
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">State</th>
              <th scope="col">Versions</th>
              <th scope="col">Depends on it</th>
              <th scope="col">Actions</th>
            </tr>
          </thead>
          <tbody>
            {data.keys.map((k) => (
              <tr key={k.name}>
                <th scope="row">
                  {k.name}
                  {k.name === data.defaultKey && <span class="muted small"> (default)</span>}
                </th>
                <td>
                  {k.error ? (
                    <span class="muted small">{k.error}</span>
                  ) : (
                    <Badge kind={k.state === 'sealed' ? 'warn' : 'good'}>{k.state ?? 'active'}</Badge>
                  )}
                </td>
                <td>
                  {k.versions ?? '—'}
                  {k.latestVersion && <span class="muted small"> (latest {k.latestVersion})</span>}
                </td>
                <td>{k.dependents ? dependentsText(k.dependents) : '—'}</td>
                <td class="actions">
                  {data.writable && (
                    <>
                      <button type="button" class="secondary" disabled={action.busy} onClick={() => void act('rotate', k.name)}>
                        Rotate
                      </button>
                      {k.state === 'sealed' ? (
                        <button type="button" class="secondary" disabled={action.busy} onClick={() => void act('unseal', k.name)}>
                          Unseal
                        </button>
                      ) : (
                        <button type="button" class="secondary" disabled={action.busy} onClick={() => void act('seal', k.name)}>
                          Seal
                        </button>
                      )}
                      <button type="button" class="danger" disabled={action.busy} onClick={() => setDeleting(k)}>
                        Delete
                      </button>
                    </>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </Section>
      {deleting && (
        <DeleteKey
          row={deleting}
          onCancel={() => setDeleting(undefined)}
          onDeleted={async (msg) => {
            setDeleting(undefined);
            await reload();
            await action.run(async () => msg);
          }}
        />
      )}
      {data.writable && (
        <Section title="Create a key">
          <form class="inline" onSubmit={create}>
            <label>
              Key name
              <input value={name} required pattern="[0-9A-Za-z_][0-9A-Za-z_\-]{0,78}" onInput={(e) => setName(e.currentTarget.value)} />
            </label>
            <button type="submit" disabled={action.busy || name === ''}>
              Create key
            </button>
          </form>
        </Section>
      )}
    </>
  );
}

function dependentsText(d: Dependents): string {
  const parts = [`${d.objects} object${d.objects === 1 ? '' : 's'}`];
  if (d.versions !== d.objects) parts.push(`${d.versions} versions`);
  if (d.uploads) parts.push(`${d.uploads} upload${d.uploads === 1 ? '' : 's'}`);
  return parts.join(', ');
}

function DeleteKey({ row, onCancel, onDeleted }: { row: KeyRow; onCancel: () => void; onDeleted: (msg: string) => Promise<void> }) {
  const { data, error } = useLoad(() => api<Dependents>('GET', `/keys/${enc(row.name)}/dependents`), [row.name]);
  const [typed, setTyped] = useState('');
  const action = useAction();
  const submit = (e: Event) => {
    e.preventDefault();
    void action.run(async () => {
      await api('DELETE', `/keys/${enc(row.name)}`, { confirm: typed });
      await onDeleted(`Key ${row.name} deleted.`);
    });
  };
  return (
    <section class="card danger-zone" role="dialog" aria-modal="false" aria-labelledby="delete-title">
      <h2 id="delete-title">Delete key {row.name}?</h2>
      <p>
        Deleting a master key erases it at kes for good. Every object sealed under it becomes unreadable, forever; a new key of the same
        name does not bring them back.
      </p>
      {data ? (
        data.objects + data.uploads === 0 ? (
          <Notice kind="ok">No object or upload of this gateway depends on {row.name}.</Notice>
        ) : (
          <div role="alert" class="notice notice-error">
            <p>
              <strong>
                {data.objects} object{data.objects === 1 ? '' : 's'}
                {data.versions !== data.objects ? ` (${data.versions} versions)` : ''} and {data.uploads} unfinished upload
                {data.uploads === 1 ? '' : 's'} become unreadable:
              </strong>
            </p>
            <ul>
              {data.buckets.map((b) => (
                <li key={b.bucket}>
                  {b.bucket}: {b.objects} object{b.objects === 1 ? '' : 's'}
                  {b.uploads ? `, ${b.uploads} upload${b.uploads === 1 ? '' : 's'}` : ''}
                </li>
              ))}
            </ul>
            <p>Rotate them to another key first (Rotation page) to keep them.</p>
          </div>
        )
      ) : (
        <Loading error={error} />
      )}
      <Message message={action.message} />
      <form class="inline" onSubmit={submit}>
        <label>
          Type the key name to confirm
          <input value={typed} autoComplete="off" onInput={(e) => setTyped(e.currentTarget.value)} />
        </label>
        <button type="submit" class="danger" disabled={typed !== row.name || action.busy}>
          Delete key
        </button>
        <button type="button" class="secondary" onClick={onCancel}>
          Cancel
        </button>
      </form>
    </section>
  );
}

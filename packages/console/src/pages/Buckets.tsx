import { useState } from 'preact/hooks';
import { api, enc, type BucketRow, type KeysAnswer, type SessionInfo } from '../api';
import { Loading, Message, Section } from '../components';
import { bytes, sseLabel, when } from '../format';
import { useAction, useLoad } from '../hooks';

export function BucketsPage({ session }: { session: SessionInfo }) {
  const buckets = useLoad(() => api<{ buckets: BucketRow[] }>('GET', '/buckets'), []);
  const keys = useLoad(() => api<KeysAnswer>('GET', '/keys'), []);
  const [editing, setEditing] = useState<string | undefined>(undefined);
  const action = useAction();
  if (!buckets.data) return <Loading error={buckets.error} />;
  // A bucket-key column only when the gateway reports the setting.
  const bucketKeys = buckets.data.buckets.some((b) => typeof b.encryption?.bucketKeyEnabled === 'boolean');
  // Which keys each bucket's objects are sealed under, from the keys' dependents.
  const keysOf = (bucket: string): string[] =>
    (keys.data?.keys ?? []).flatMap((k) => {
      const b = k.dependents?.buckets.find((x) => x.bucket === bucket);
      return b && b.objects + b.uploads > 0 ? [`${k.name} (${b.objects})`] : [];
    });
  return (
    <Section title="Buckets">
      <Message message={action.message} />
      {buckets.data.buckets.length === 0 ? (
        <p class="muted">No buckets yet.</p>
      ) : (
        <table>
          <thead>
            <tr>
              <th scope="col">Bucket</th>
              <th scope="col">Default encryption</th>
              {bucketKeys && <th scope="col">Bucket key</th>}
              <th scope="col">Versioning</th>
              <th scope="col">Objects under master keys</th>
              <th scope="col">Objects</th>
              <th scope="col">Size</th>
              <th scope="col">Created</th>
              <th scope="col">Actions</th>
            </tr>
          </thead>
          <tbody>
            {buckets.data.buckets.map((b) => (
              <tr key={b.name}>
                <th scope="row">{b.name}</th>
                <td>{sseLabel(b.encryption, session.defaultKey)}</td>
                {bucketKeys && (
                  <td>{b.encryption?.bucketKeyEnabled === undefined ? '—' : b.encryption.bucketKeyEnabled ? 'Enabled' : 'Disabled'}</td>
                )}
                <td>{b.versioning}</td>
                <td>{keysOf(b.name).join(', ') || '—'}</td>
                <td>
                  {b.objects}
                  {b.truncated ? '+' : ''}
                </td>
                <td>{bytes(b.bytes)}</td>
                <td>{when(b.createdAt)}</td>
                <td>
                  <button
                    type="button"
                    class="secondary"
                    onClick={() => setEditing(b.name)}
                    aria-label={`Change default encryption of ${b.name}`}
                  >
                    Change encryption
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {editing && (
        <EncryptionForm
          bucket={buckets.data.buckets.find((b) => b.name === editing)!}
          keyNames={(keys.data?.keys ?? []).map((k) => k.name)}
          defaultKey={session.defaultKey}
          onDone={async (msg) => {
            setEditing(undefined);
            await buckets.reload();
            if (msg) await action.run(async () => msg);
          }}
        />
      )}
    </Section>
  );
}

function EncryptionForm({
  bucket,
  keyNames,
  defaultKey,
  onDone,
}: {
  bucket: BucketRow;
  keyNames: string[];
  defaultKey: string;
  onDone: (msg?: string) => Promise<void>;
}) {
  const [sse, setSse] = useState(bucket.encryption?.sse ?? 'none');
  const [kmsKeyId, setKey] = useState(bucket.encryption?.kmsKeyId ?? '');
  const action = useAction();
  const submit = (e: Event) => {
    e.preventDefault();
    void action.run(async () => {
      const body = sse === 'aws:kms' ? { sse, ...(kmsKeyId ? { kmsKeyId } : {}) } : { sse };
      await api('PUT', `/buckets/${enc(bucket.name)}/encryption`, body);
      await onDone(
        `Default encryption of ${bucket.name} is now ${sseLabel(sse === 'none' ? null : { sse, ...(kmsKeyId ? { kmsKeyId } : {}) }, defaultKey)}.`,
      );
    });
  };
  return (
    <form class="inline subcard" onSubmit={submit} aria-label={`Default encryption of ${bucket.name}`}>
      <strong>{bucket.name}</strong>
      <label>
        Default encryption
        <select value={sse} onChange={(e) => setSse(e.currentTarget.value)}>
          <option value="none">None</option>
          <option value="AES256">SSE-S3</option>
          <option value="aws:kms">SSE-KMS</option>
        </select>
      </label>
      {sse === 'aws:kms' && (
        <label>
          KMS key
          <input list="key-names" value={kmsKeyId} placeholder={defaultKey} onInput={(e) => setKey(e.currentTarget.value)} />
          <datalist id="key-names">
            {keyNames.map((n) => (
              <option value={n} key={n} />
            ))}
          </datalist>
        </label>
      )}
      <button type="submit" disabled={action.busy}>
        Save
      </button>
      <button type="button" class="secondary" onClick={() => void onDone()}>
        Cancel
      </button>
      <Message message={action.message} />
      <p class="muted small">
        The default applies to new objects written without SSE headers; existing objects keep their keys (rotate them on the Rotation page).
      </p>
    </form>
  );
}

import { useState } from 'preact/hooks';
import { api, type SessionInfo } from '../api';
import { Notice } from '../components';

export function SignIn({ reason, onSignedIn }: { reason: string | undefined; onSignedIn: (s: SessionInfo) => void }) {
  const [accessKey, setAccessKey] = useState('');
  const [secretKey, setSecretKey] = useState('');
  const [error, setError] = useState<string | undefined>(undefined);
  const [busy, setBusy] = useState(false);
  const submit = async (e: Event): Promise<void> => {
    e.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      onSignedIn(await api<SessionInfo>('POST', '/session', { accessKey, secretKey }));
    } catch (err) {
      setError(err instanceof Error ? err.message : String(err));
      setSecretKey('');
    } finally {
      setBusy(false);
    }
  };
  return (
    <main class="signin">
      <form class="card" onSubmit={(e) => void submit(e)}>
        <h1>kesgate console</h1>
        <p class="muted">Sign in with the gateway's root credentials or a console user.</p>
        {reason && <Notice kind="info">{reason}</Notice>}
        {error && <Notice kind="error">{error}</Notice>}
        <label>
          Access key
          <input name="accessKey" autoComplete="username" required value={accessKey} onInput={(e) => setAccessKey(e.currentTarget.value)} />
        </label>
        <label>
          Secret key
          <input
            name="secretKey"
            type="password"
            autoComplete="current-password"
            required
            value={secretKey}
            onInput={(e) => setSecretKey(e.currentTarget.value)}
          />
        </label>
        <button type="submit" disabled={busy}>
          Sign in
        </button>
      </form>
    </main>
  );
}

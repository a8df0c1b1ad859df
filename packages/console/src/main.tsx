import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { api, setCsrf, whenSignedOut, type SessionInfo } from './api';
import { Notice } from './components';
import { AuditPage } from './pages/Audit';
import { BucketsPage } from './pages/Buckets';
import { KeysPage } from './pages/Keys';
import { OverviewPage } from './pages/Overview';
import { RotationPage } from './pages/Rotation';
import { SealPage } from './pages/Seal';
import { SignIn } from './pages/SignIn';
import './styles.css';

const PAGES = [
  { path: 'overview', title: 'Overview', Page: OverviewPage },
  { path: 'keys', title: 'Keys', Page: KeysPage },
  { path: 'seal', title: 'Seal', Page: SealPage },
  { path: 'buckets', title: 'Buckets', Page: BucketsPage },
  { path: 'rotation', title: 'Rotation', Page: RotationPage },
  { path: 'audit', title: 'Audit', Page: AuditPage },
] as const;

function currentPath(): string {
  return location.hash.replace(/^#\/?/, '') || 'overview';
}

function App() {
  const [session, setSession] = useState<SessionInfo | null | undefined>(undefined);
  const [signedOutReason, setReason] = useState<string | undefined>(undefined);
  const [path, setPath] = useState(currentPath());

  useEffect(() => {
    const onHash = (): void => setPath(currentPath());
    addEventListener('hashchange', onHash);
    whenSignedOut((reason) => {
      setReason(reason);
      setSession(null);
    });
    api<SessionInfo>('GET', '/session').then(
      (s) => {
        setCsrf(s.csrf);
        setSession(s);
      },
      () => setSession(null),
    );
    return () => removeEventListener('hashchange', onHash);
  }, []);

  useEffect(() => {
    const page = PAGES.find((p) => p.path === path);
    document.title = `${page?.title ?? 'Not found'} · kesgate console`;
  }, [path]);

  if (session === undefined) return <p class="muted center">Loading…</p>;
  if (session === null) {
    return (
      <SignIn
        reason={signedOutReason}
        onSignedIn={(s) => {
          setCsrf(s.csrf);
          setReason(undefined);
          setSession(s);
        }}
      />
    );
  }

  const page = PAGES.find((p) => p.path === path);
  const signOut = async (): Promise<void> => {
    try {
      await api('DELETE', '/session');
    } finally {
      setCsrf('');
      setReason('You signed out.');
      setSession(null);
    }
  };
  return (
    <div class="shell">
      <header class="topbar">
        <span class="brand">kesgate console</span>
        <nav aria-label="Main">
          {PAGES.map((p) => (
            <a href={`#/${p.path}`} aria-current={p.path === path ? 'page' : undefined} class={p.path === path ? 'active' : ''}>
              {p.title}
            </a>
          ))}
        </nav>
        <span class="user">
          Signed in as <strong>{session.user}</strong>
          <button type="button" class="secondary" onClick={() => void signOut()}>
            Sign out
          </button>
        </span>
      </header>
      <main>
        {!session.kesWritable && (
          <Notice kind="warn">
            Read-only kes pages: the gateway has no console identity at kes (console.kes in gateway.yaml). Keys, seal and audit show what
            the gateway's own identity may see.
          </Notice>
        )}
        {page ? <page.Page session={session} /> : <Notice kind="error">There is no page "{path}".</Notice>}
      </main>
    </div>
  );
}

render(<App />, document.getElementById('app')!);

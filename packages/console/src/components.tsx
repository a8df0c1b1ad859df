import type { ComponentChildren } from 'preact';

export function Progress({ value, label }: { value: number; label: string }) {
  const v = Math.max(0, Math.min(100, Math.round(value)));
  return (
    <div class="progress" role="progressbar" aria-label={label} aria-valuemin={0} aria-valuemax={100} aria-valuenow={v}>
      <div class="progress-fill" style={{ width: `${v}%` }} />
      <span class="progress-text">{v}%</span>
    </div>
  );
}

export function Notice({ kind, children }: { kind: 'ok' | 'error' | 'info' | 'warn'; children: ComponentChildren }) {
  return (
    <p class={`notice notice-${kind}`} role={kind === 'error' ? 'alert' : 'status'}>
      {children}
    </p>
  );
}

export function Message({ message }: { message: { kind: 'ok' | 'error'; text: string } | undefined }) {
  return message ? <Notice kind={message.kind}>{message.text}</Notice> : null;
}

export function Section({ title, children, actions }: { title: string; children: ComponentChildren; actions?: ComponentChildren }) {
  return (
    <section class="card" aria-label={title}>
      <header class="card-head">
        <h2>{title}</h2>
        {actions}
      </header>
      {children}
    </section>
  );
}

export function Badge({ kind, children }: { kind: 'good' | 'bad' | 'warn' | 'muted'; children: ComponentChildren }) {
  return <span class={`badge badge-${kind}`}>{children}</span>;
}

export function Loading({ error }: { error?: string | undefined }) {
  return error ? <Notice kind="error">{error}</Notice> : <p class="muted">Loading…</p>;
}

import { useCallback, useEffect, useRef, useState } from 'preact/hooks';

export interface Loaded<T> {
  data: T | undefined;
  error: string | undefined;
  reload: () => Promise<void>;
}

/**
 * Loads `fetcher` now, again when `deps` change, and every `everyMs` if given (while the page is shown); the
 * periodic loads get `background` true.
 */
export function useLoad<T>(
  fetcher: (background: boolean) => Promise<T>,
  deps: unknown[] = [],
  everyMs?: number | (() => number | undefined),
): Loaded<T> {
  const [data, setData] = useState<T | undefined>(undefined);
  const [error, setError] = useState<string | undefined>(undefined);
  const alive = useRef(true);
  const reload = useCallback(async (background = false) => {
    try {
      const d = await fetcher(background);
      if (!alive.current) return;
      setData(d);
      setError(undefined);
    } catch (err) {
      if (alive.current) setError(err instanceof Error ? err.message : String(err));
    }
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, deps);
  useEffect(() => {
    alive.current = true;
    void reload();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const schedule = (): void => {
      const ms = typeof everyMs === 'function' ? everyMs() : everyMs;
      if (ms === undefined) return;
      timer = setTimeout(() => void reload(true).finally(schedule), ms);
    };
    schedule();
    return () => {
      alive.current = false;
      if (timer) clearTimeout(timer);
    };
  }, [reload]);
  return { data, error, reload };
}

/** Runs an action, remembering whether it runs and how it ended, for a button and a status line. */
export function useAction(): {
  busy: boolean;
  message: { kind: 'ok' | 'error'; text: string } | undefined;
  run: (f: () => Promise<string | void>) => Promise<boolean>;
  clear: () => void;
} {
  const [busy, setBusy] = useState(false);
  const [message, setMessage] = useState<{ kind: 'ok' | 'error'; text: string } | undefined>(undefined);
  const run = async (f: () => Promise<string | void>): Promise<boolean> => {
    setBusy(true);
    setMessage(undefined);
    try {
      const text = await f();
      if (text) setMessage({ kind: 'ok', text });
      return true;
    } catch (err) {
      setMessage({ kind: 'error', text: err instanceof Error ? err.message : String(err) });
      return false;
    } finally {
      setBusy(false);
    }
  };
  return { busy, message, run, clear: () => setMessage(undefined) };
}

// Small pieces every page uses: loading data, showing API errors in words, times, copy buttons,
// confirmations, paging, links. Each is accessible by keyboard and labelled.
import { useCallback, useEffect, useId, useRef, useState, type ReactNode } from 'react';
import { ApiError } from './api';
import { absolute, isNever, relative } from './format';
import { navigate } from './router';

export interface Loaded<T> {
  data: T | undefined;
  error: unknown;
  loading: boolean;
  reload(): void;
}

/** Runs `load` when `deps` change (and on reload()); a late answer for old deps is dropped. */
export function useLoad<T>(load: () => Promise<T>, deps: unknown[]): Loaded<T> {
  const [state, setState] = useState<{ data?: T; error?: unknown; loading: boolean }>({ loading: true });
  const [round, setRound] = useState(0);
  useEffect(() => {
    let current = true;
    setState((s) => ({ ...s, loading: true }));
    load().then(
      (data) => current && setState({ data, loading: false }),
      (error: unknown) => current && setState({ error, loading: false }),
    );
    return () => {
      current = false;
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [...deps, round]);
  const reload = useCallback(() => setRound((r) => r + 1), []);
  return { data: state.data, error: state.error, loading: state.loading, reload };
}

export function ErrorMessage({ error }: { error: unknown }) {
  if (!error) return null;
  const e = error instanceof ApiError ? error : new ApiError(-1, 'UI', error instanceof Error ? error.message : String(error));
  return (
    <div className="error" role="alert">
      <p>
        <strong>{e.status > 0 ? `${e.status} ${e.code}: ` : ''}</strong>
        {e.message}
      </p>
      <p className="advice">{e.advice}</p>
    </div>
  );
}

export function Loading({ what }: { what: string }) {
  return (
    <p className="muted" role="status">
      Loading {what}…
    </p>
  );
}

/** A time shown relative ("3 minutes ago"), the absolute one on hover and to screen readers on focus. */
export function Time({ iso, never = 'never' }: { iso: string | undefined; never?: string }) {
  if (isNever(iso)) return <span className="muted">{never}</span>;
  return (
    <time dateTime={iso} title={absolute(iso!)}>
      {relative(iso!)}
    </time>
  );
}

export function Link({ to, children, className }: { to: string; children: ReactNode; className?: string }) {
  return (
    <a
      href={to}
      className={className}
      onClick={(e) => {
        if (e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
        e.preventDefault();
        navigate(to);
      }}
    >
      {children}
    </a>
  );
}

async function writeClipboard(text: string): Promise<void> {
  if (navigator.clipboard && window.isSecureContext) return navigator.clipboard.writeText(text);
  // Plain HTTP from another host: the Clipboard API is not offered; the old way still works.
  const area = document.createElement('textarea');
  area.value = text;
  area.setAttribute('readonly', '');
  area.className = 'offscreen';
  document.body.append(area);
  area.select();
  document.execCommand('copy');
  area.remove();
}

/**
 * A button that copies `text`; `label` says what ("Copy the digest"): its first word is the
 * visible one, the rest is for screen readers (the accessible name contains the visible text).
 */
export function Copy({ text, label }: { text: string; label: string }) {
  const [done, setDone] = useState<'copied' | 'failed' | undefined>();
  const rest = label.replace(/^Copy\b/, '');
  return (
    <button
      type="button"
      className="small"
      onClick={() =>
        writeClipboard(text).then(
          () => setDone('copied'),
          () => setDone('failed'),
        )
      }
      onBlur={() => setDone(undefined)}
    >
      {done === 'copied' ? 'Copied' : done === 'failed' ? 'Select and copy by hand' : 'Copy'}
      <span className="offscreen">{rest}</span>
    </button>
  );
}

/** A command or secret shown in full, with its copy button. */
export function CopyLine({ text, label }: { text: string; label: string }) {
  return (
    <div className="copyline">
      <code>{text}</code>
      <Copy text={text} label={label} />
    </div>
  );
}

/**
 * A button that asks before it acts: a modal <dialog> that names what will happen; Escape or
 * "Cancel" leaves everything as it was. Errors of the action are shown in the dialog.
 */
export function ConfirmButton({
  label,
  title,
  children,
  confirm,
  onConfirm,
  className = 'danger',
  more,
}: {
  /** The button's visible text (a symbol such as "×" is hidden from screen readers, which read `more`). */
  label: string;
  title: string;
  children: ReactNode;
  confirm: string;
  onConfirm(): Promise<void>;
  className?: string;
  /** Read by screen readers after the label ("project shop"): the visible text stays part of the name. */
  more?: string;
}) {
  const ref = useRef<HTMLDialogElement>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>();
  const titleId = useId();
  return (
    <>
      <button type="button" className={className} onClick={() => (setError(undefined), ref.current?.showModal())}>
        {/\w/.test(label) ? label : <span aria-hidden="true">{label}</span>}
        {more && <span className="offscreen">{/\w/.test(label) ? ` ${more}` : more}</span>}
      </button>
      <dialog ref={ref} aria-labelledby={titleId}>
        <h2 id={titleId}>{title}</h2>
        <div>{children}</div>
        <ErrorMessage error={error} />
        <div className="actions">
          <button type="button" onClick={() => ref.current?.close()} disabled={busy}>
            Cancel
          </button>
          <button
            type="button"
            className="danger"
            disabled={busy}
            onClick={async () => {
              setBusy(true);
              setError(undefined);
              try {
                await onConfirm();
                ref.current?.close();
              } catch (err) {
                setError(err);
              } finally {
                setBusy(false);
              }
            }}
          >
            {busy ? 'Working…' : confirm}
          </button>
        </div>
      </dialog>
    </>
  );
}

const SINGULAR: Record<string, string> = { projects: 'project', repositories: 'repository', artifacts: 'artifact', entries: 'entry', users: 'user' };

export function Pager({ page, size, total, onPage, what }: { page: number; size: number; total: number; onPage(page: number): void; what: string }) {
  const pages = Math.max(1, Math.ceil(total / size));
  if (total <= size) return <p className="muted">{total === 1 ? `1 ${SINGULAR[what] ?? what}` : `${total} ${what}`}</p>;
  return (
    <nav className="pager" aria-label={`Pages of ${what}`}>
      <button type="button" disabled={page <= 1} onClick={() => onPage(page - 1)}>
        Previous
      </button>
      <span>
        Page {page} of {pages} ({total} {what})
      </span>
      <button type="button" disabled={page >= pages} onClick={() => onPage(page + 1)}>
        Next
      </button>
    </nav>
  );
}

/** Storage used of a limit, as a bar with the numbers in words (-1: no limit). */
export function UsageBar({ used, hard, format }: { used: number; hard: number; format(n: number): string }) {
  if (hard < 0) return <span>{format(used)} (no limit)</span>;
  const text = `${format(used)} of ${format(hard)}`;
  return (
    <span className="usage">
      <meter min={0} max={Math.max(hard, 1)} value={Math.min(used, hard)} high={hard * 0.8} optimum={0} aria-label={`Storage used: ${text}`} />
      <span>{text}</span>
    </span>
  );
}

/** A form's status line: errors in words, or what was done. */
export function Outcome({ error, done }: { error: unknown; done?: string }) {
  if (error) return <ErrorMessage error={error} />;
  if (done)
    return (
      <p className="ok" role="status">
        {done}
      </p>
    );
  return null;
}

/**
 * A table of rows, scrolling sideways on a narrow screen: header cells from `columns`, and with
 * `actions` a last, unlabelled-on-screen column for each row's buttons. `children` are the rows.
 */
export function Table({ caption, columns, actions, children }: { caption?: string; columns: string[]; actions?: boolean; children: ReactNode }) {
  return (
    <div className="scroll">
      <table>
        {caption && <caption className="offscreen">{caption}</caption>}
        <thead>
          <tr>
            {columns.map((c) => (
              <th key={c} scope="col">
                {c}
              </th>
            ))}
            {actions && (
              <th scope="col">
                <span className="offscreen">Actions</span>
              </th>
            )}
          </tr>
        </thead>
        <tbody>{children}</tbody>
      </table>
    </div>
  );
}

/** A search field that filters as one types (the page goes back to its first page). */
export function SearchBox({ label, value, onChange }: { label: string; value: string; onChange(value: string): void }) {
  return (
    <form role="search" className="toolbar" onSubmit={(e) => e.preventDefault()}>
      <label>
        {label}
        <input type="search" value={value} onChange={(e) => onChange(e.target.value)} />
      </label>
    </form>
  );
}

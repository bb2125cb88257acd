// The system audit log (administrators): filtered by user, operation, resource and time by the
// API (q=), newest first, a page at a time.
import { useEffect, useState } from 'react';
import { list, type AuditEntry } from '../api';
import { ErrorMessage, Loading, Pager, useLoad } from '../components';
import { AuditTable } from './project';

const PAGE_SIZE = 20;

/** A q= value must not carry the separators of Harbor's query syntax. */
const clean = (v: string) => v.replace(/[,{}()[\]~=]/g, ' ').trim();

export function AuditPage() {
  const [form, setForm] = useState({ username: '', operation: '', resource: '', from: '', to: '' });
  const [applied, setApplied] = useState(form);
  const [page, setPage] = useState(1);
  useEffect(() => void (document.title = 'Audit log · minato'), []);
  const q = [
    applied.username && `username=~${clean(applied.username)}`,
    applied.operation && `operation=${clean(applied.operation)}`,
    applied.resource && `resource=~${clean(applied.resource)}`,
    (applied.from || applied.to) && `op_time=[${applied.from ? new Date(applied.from).toISOString() : ''}~${applied.to ? new Date(applied.to).toISOString() : ''}]`,
  ]
    .filter(Boolean)
    .join(',');
  const log = useLoad(() => list<AuditEntry>('/auditlog-exts', { page, page_size: PAGE_SIZE, q: q || undefined }), [q, page]);
  const field = (k: keyof typeof form) => ({ value: form[k], onChange: (e: React.ChangeEvent<HTMLInputElement | HTMLSelectElement>) => setForm({ ...form, [k]: e.target.value }) });
  return (
    <>
      <h1>Audit log</h1>
      <form
        className="toolbar filters"
        aria-label="Filter the audit log"
        onSubmit={(e) => {
          e.preventDefault();
          setApplied(form);
          setPage(1);
        }}
      >
        <label>
          User
          <input {...field('username')} />
        </label>
        <label>
          Operation
          <select {...field('operation')}>
            <option value="">any</option>
            <option value="create">create</option>
            <option value="delete">delete</option>
            <option value="update">update</option>
            <option value="pull">pull</option>
            <option value="login">login</option>
            <option value="logout">logout</option>
          </select>
        </label>
        <label>
          Resource contains
          <input {...field('resource')} />
        </label>
        <label>
          From
          <input type="datetime-local" {...field('from')} />
        </label>
        <label>
          To
          <input type="datetime-local" {...field('to')} />
        </label>
        <button type="submit" className="primary">
          Apply filters
        </button>
      </form>
      <ErrorMessage error={log.error} />
      {log.loading && !log.data && <Loading what="the audit log" />}
      {log.data && <AuditTable entries={log.data.items} />}
      {log.data && <Pager page={page} size={PAGE_SIZE} total={log.data.total} onPage={setPage} what="entries" />}
    </>
  );
}

// Harbor's list conventions (src/lib/q/builder.go): `q=k=v,k=~v,k=[min~max],k={v1 v2},k=(v1 v2)`
// and `sort=k1,-k2`, parsed into a typed filter and order (metadata/list-query.ts) against the
// fields a route declares. Unlike Harbor, an unknown key, a value of the wrong type or a key given
// twice is a 400 that says so, never silently ignored; and input is bounded (a query string is
// hostile until parsed).
import type { Condition, FieldType, FieldValue, Filter, FilterFields, SortKey } from '../metadata/list-query.js';
import { ApiError } from './errors.js';

/** Longest q= accepted, terms in it, and values in one {..} or (..) list. */
export const Q_LIMITS = { length: 4096, terms: 32, listValues: 100, valueLength: 1024 } as const;
const MAX_SORT_KEYS = 8;

const KEY = /^[A-Za-z_][A-Za-z0-9_.]{0,63}$/;
const INT = /^-?\d{1,16}$/;
/** Harbor's time format ("2006-01-02T15:04:05", read as UTC), with optional fraction and zone. */
const TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})?$/;

function bad(message: string): ApiError {
  return new ApiError('BAD_REQUEST', message);
}

/** A value shown in a message: bounded, so a hostile input does not come back at full length. */
function shown(s: string): string {
  return JSON.stringify(s.length > 64 ? `${s.slice(0, 64)}...` : s);
}

function parseValue<T extends FieldType>(key: string, type: T, raw: string): FieldValue<T> {
  const v = raw.trim();
  switch (type) {
    case 'int': {
      if (!INT.test(v) || !Number.isSafeInteger(Number(v))) throw bad(`q: ${key} takes an integer, not ${shown(v)}`);
      return Number(v) as FieldValue<T>;
    }
    case 'time': {
      const m = TIME.exec(v);
      const ms = m ? Date.parse(m[2] ? v : `${v}Z`) : NaN;
      if (Number.isNaN(ms)) throw bad(`q: ${key} takes a time such as 2026-01-31T12:00:00 (UTC unless it names a zone), not ${shown(v)}`);
      return ms as FieldValue<T>;
    }
    case 'bool':
      if (v !== 'true' && v !== 'false') throw bad(`q: ${key} takes true or false, not ${shown(v)}`);
      return (v === 'true') as FieldValue<T>;
    default:
      // Harbor trims quotes from values in ranges and lists ("a b" cannot hold a space anyway).
      return v.replace(/^["']+|["']+$/g, '') as FieldValue<T>;
  }
}

function parseList<T extends FieldType>(key: string, type: T, inner: string): Array<FieldValue<T>> {
  const parts = inner.split(' ').filter((s) => s.trim() !== '');
  if (parts.length === 0) throw bad(`q: the list of ${key} is empty`);
  if (parts.length > Q_LIMITS.listValues) throw bad(`q: the list of ${key} has ${parts.length} values, at most ${Q_LIMITS.listValues} are allowed`);
  return parts.map((p) => parseValue(key, type, p));
}

function parseCondition<T extends FieldType>(key: string, type: T, value: string): Condition<FieldValue<T>> {
  const first = value[0];
  const last = value[value.length - 1];
  if (first === '~') {
    if (type !== 'string') throw bad(`q: ${key} is not text and takes no fuzzy match (~)`);
    if (value.length < 2) throw bad(`q: the fuzzy match of ${key} needs at least one character after "~"`);
    return { op: 'fuzzy', value: value.slice(1) };
  }
  if (first === '[') {
    if (type !== 'int' && type !== 'time') throw bad(`q: ${key} takes no range ([min~max]); ranges are for numbers and times`);
    const inner = value.slice(1, -1);
    if (last !== ']' || inner.split('~').length !== 2) throw bad(`q: the range of ${key} must be [min~max], with exactly one "~"`);
    const [lo, hi] = inner.split('~').map((s) => s.trim()) as [string, string];
    if (lo === '' && hi === '') throw bad(`q: the range of ${key} needs a minimum, a maximum or both`);
    const min = lo === '' ? undefined : parseValue(key, type, lo);
    const max = hi === '' ? undefined : parseValue(key, type, hi);
    if (min !== undefined && max !== undefined && (min as number) > (max as number)) throw bad(`q: the range of ${key} has its minimum above its maximum`);
    return { op: 'range', min, max };
  }
  if (first === '{' || first === '(') {
    const close = first === '{' ? '}' : ')';
    if (last !== close) throw bad(`q: a list of ${key} that starts with "${first}" must end with "${close}"`);
    return { op: first === '{' ? 'any' : 'all', values: parseList(key, type, value.slice(1, -1)) };
  }
  // A leading backslash makes the rest literal: name=\~x is the name "~x" (Harbor's escape).
  const literal = first === '\\' ? value.slice(1) : value;
  return { op: 'eq', value: type === 'string' ? (literal as FieldValue<T>) : parseValue(key, type, literal) };
}

/**
 * Parses `q` against the fields a route allows. Keys are case-sensitive, as Harbor's are. Like
 * Harbor, a value that is still percent-encoded (clients that encode q twice) is decoded once more.
 */
export function parseQ<F extends FilterFields>(q: string | undefined, fields: F): Filter<F> {
  const filter: Record<string, Condition<unknown>> = {};
  if (q === undefined || q === '') return filter as Filter<F>;
  if (q.length > Q_LIMITS.length) throw bad(`q is ${q.length} characters long; at most ${Q_LIMITS.length} are allowed`);
  let text = q;
  if (text.includes('%')) {
    try {
      text = decodeURIComponent(text);
    } catch {
      // Not encoding after all (a literal "%"): taken as it is, as Harbor does.
    }
  }
  const terms = text.split(',');
  if (terms.length > Q_LIMITS.terms) throw bad(`q has ${terms.length} terms; at most ${Q_LIMITS.terms} are allowed`);
  const known = Object.keys(fields);
  for (const term of terms) {
    const eq = term.indexOf('=');
    const key = eq < 0 ? term : term.slice(0, eq);
    const value = eq < 0 ? '' : term.slice(eq + 1);
    if (eq <= 0 || value === '') throw bad(`q: every term must be key=value with neither empty, not ${shown(term)}`);
    if (!KEY.test(key) || !Object.hasOwn(fields, key)) {
      throw bad(`q: unknown key ${shown(key)}; this list filters by ${known.length ? known.join(', ') : 'nothing'}`);
    }
    if (Object.hasOwn(filter, key)) throw bad(`q: ${key} is given twice; combine its values in one {a b} or (a b) list`);
    if (value.length > Q_LIMITS.valueLength) throw bad(`q: the value of ${key} is longer than ${Q_LIMITS.valueLength} characters`);
    filter[key] = parseCondition(key, fields[key]!, value);
  }
  return filter as Filter<F>;
}

/** Parses `sort=a,-b` (a descending field has a leading "-") against the fields a route can sort by. */
export function parseSort<S extends string>(sort: string | undefined, fields: readonly S[]): Array<SortKey<S>> {
  if (sort === undefined || sort === '') return [];
  const keys = sort.split(',');
  if (keys.length > MAX_SORT_KEYS) throw bad(`sort has ${keys.length} fields; at most ${MAX_SORT_KEYS} are allowed`);
  const out: Array<SortKey<S>> = [];
  for (const key of keys) {
    const desc = key.startsWith('-');
    const field = desc ? key.slice(1) : key;
    if (!(fields as readonly string[]).includes(field)) {
      throw bad(`sort: cannot sort by ${shown(field)}; this list sorts by ${fields.length ? fields.join(', ') : 'nothing'} (a leading "-" for descending)`);
    }
    if (out.some((k) => k.field === field)) throw bad(`sort: ${field} is given twice`);
    out.push({ field: field as S, desc });
  }
  return out;
}

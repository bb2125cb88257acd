// Small helpers on record names shared by the providers.

/** `Foo.Example.com.` -> `foo.example.com`: the form names are compared and grouped in. */
export function normalizeName(name: string): string {
  return name.trim().replace(/\.$/, '').toLowerCase();
}

/** Groups records by `key(record)`, keeping the first-seen order. */
export function groupBy<T>(items: T[], key: (item: T) => string): Map<string, T[]> {
  const out = new Map<string, T[]>();
  for (const item of items) {
    const k = key(item);
    const list = out.get(k);
    if (list) list.push(item);
    else out.set(k, [item]);
  }
  return out;
}

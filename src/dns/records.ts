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

/**
 * Finds the zone holding `name` by asking `lookup` for each enclosing name, longest first
 * ("a.b.example.com", "b.example.com", "example.com"), remembering answers in `cache`.
 * `lookup` returns the provider's zone id for an exact zone name, or undefined.
 */
export async function findZone(name: string, cache: Map<string, string>, lookup: (candidate: string) => Promise<string | undefined>): Promise<string | undefined> {
  const n = normalizeName(name);
  const known = cache.get(n);
  if (known) return known;
  const labels = n.split('.');
  for (let i = 0; i < labels.length - 1; i++) {
    const candidate = labels.slice(i).join('.');
    const id = cache.get(candidate) ?? (await lookup(candidate));
    if (id) {
      cache.set(candidate, id).set(n, id);
      return id;
    }
  }
  return undefined;
}

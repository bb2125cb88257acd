// What start-up logs and `minato config check` print: the configuration with every secret
// (TSIG secrets, API tokens, HMAC keys, passwords) replaced, found by key name so that a new
// provider's secret field is covered without anyone remembering to mark it.
const SECRET_KEY = /secret|password|token$|apiToken|hmacKey|privateKey|credentials/i;
// And the password of any URL (database.url): user, host and database stay readable. Everything
// up to the last "@" goes, so a password with a raw "@" or "/" in it is not half shown.
const URL_PASSWORD = /^([a-z][a-z0-9+.-]*:\/\/[^/?#@:]*:).*@/is;

export function redact<T>(value: T): T {
  if (Array.isArray(value)) return value.map((v) => redact(v)) as T;
  if (typeof value === 'string') return value.replace(URL_PASSWORD, '$1<redacted>@') as T;
  if (value === null || typeof value !== 'object') return value;
  return Object.fromEntries(
    Object.entries(value as Record<string, unknown>).map(([k, v]) => [k, SECRET_KEY.test(k) && typeof v === 'string' ? '<redacted>' : redact(v)]),
  ) as T;
}

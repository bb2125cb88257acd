// RPM's version order: `rpmvercmp` (rpm 4.18, lib/rpmvercmp.c) on `[epoch:]version[-release]`.
// Versions split into runs of digits or letters (other characters only separate them); `~`
// sorts before anything, even the end; `^` (rpm >= 4.15) sorts after the end but before any
// other run; a numeric run beats an alphabetic one; numbers compare without leading zeros.

const isDigit = (c: string | undefined) => c !== undefined && c >= '0' && c <= '9';
const isAlpha = (c: string | undefined) => c !== undefined && ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'));
const isAlnum = (c: string | undefined) => isDigit(c) || isAlpha(c);

const sign = (n: number) => (n < 0 ? -1 : n > 0 ? 1 : 0);

/** rpmvercmp: -1, 0 or 1. */
export function rpmvercmp(a: string, b: string): number {
  if (a === b) return 0;
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    while (i < a.length && !isAlnum(a[i]) && a[i] !== '~' && a[i] !== '^') i++;
    while (j < b.length && !isAlnum(b[j]) && b[j] !== '~' && b[j] !== '^') j++;
    if (a[i] === '~' || b[j] === '~') {
      if (a[i] !== '~') return 1;
      if (b[j] !== '~') return -1;
      i++;
      j++;
      continue;
    }
    if (a[i] === '^' || b[j] === '^') {
      if (i >= a.length) return -1;
      if (j >= b.length) return 1;
      if (a[i] !== '^') return 1;
      if (b[j] !== '^') return -1;
      i++;
      j++;
      continue;
    }
    if (i >= a.length || j >= b.length) break;
    const numeric = isDigit(a[i]);
    const inRun = numeric ? isDigit : isAlpha;
    let ie = i;
    let je = j;
    while (ie < a.length && inRun(a[ie])) ie++;
    while (je < b.length && inRun(b[je])) je++;
    // `b` has a run of the other kind here: a number beats letters.
    if (je === j) return numeric ? 1 : -1;
    let x = a.slice(i, ie);
    let y = b.slice(j, je);
    if (numeric) {
      x = x.replace(/^0+/, '');
      y = y.replace(/^0+/, '');
      if (x.length !== y.length) return x.length > y.length ? 1 : -1;
    }
    if (x !== y) return x < y ? -1 : 1;
    i = ie;
    j = je;
  }
  if (i >= a.length && j >= b.length) return 0;
  return i >= a.length ? -1 : 1;
}

/** `[epoch:]version[-release]`: an absent epoch is 0; an absent release is undefined. */
export function parseRpm(evr: string): { epoch: number; version: string; release?: string } {
  let rest = evr.trim();
  let epoch = 0;
  const colon = rest.indexOf(':');
  if (colon >= 0 && /^\d*$/.test(rest.slice(0, colon))) {
    epoch = Number(rest.slice(0, colon) || '0');
    rest = rest.slice(colon + 1);
  }
  const hyphen = rest.lastIndexOf('-');
  return hyphen < 0 ? { epoch, version: rest } : { epoch, version: rest.slice(0, hyphen), release: rest.slice(hyphen + 1) };
}

/** Epoch, then version, then release (a missing release sorts before any), as rpm's rpmverCmp. */
export function compareRpm(a: string, b: string): number {
  const x = parseRpm(a);
  const y = parseRpm(b);
  if (x.epoch !== y.epoch) return x.epoch < y.epoch ? -1 : 1;
  const v = rpmvercmp(x.version, y.version);
  if (v !== 0) return v;
  if (x.release === undefined || y.release === undefined) return x.release === y.release ? 0 : x.release === undefined ? -1 : 1;
  return sign(rpmvercmp(x.release, y.release));
}

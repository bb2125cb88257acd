// Sizes in bytes as people write and read them: "10GiB" or "500MB" in the configuration and the
// CLI, "9.5 MiB (9961472 bytes)" in messages.

const UNITS: Record<string, number> = {
  b: 1,
  kb: 1e3,
  mb: 1e6,
  gb: 1e9,
  tb: 1e12,
  pb: 1e15,
  kib: 2 ** 10,
  mib: 2 ** 20,
  gib: 2 ** 30,
  tib: 2 ** 40,
  pib: 2 ** 50,
};

const SIZE_RE = /^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$/i;

/**
 * Bytes from a number of bytes or a size with a unit: B, kB/MB/GB/TB/PB (powers of 1000) or
 * KiB/MiB/GiB/TiB/PiB (powers of 1024), case-insensitive. Throws on anything else or on a
 * fraction of a byte. "-1" (or -1) passes through: it means unlimited where a size is a limit.
 */
export function parseSize(value: string | number): number {
  if (typeof value === 'number') {
    if (!Number.isSafeInteger(value) || value < -1) throw new Error(`${value} is not a size in bytes (a whole number, or -1 for unlimited)`);
    return value;
  }
  if (value.trim() === '-1') return -1;
  const m = SIZE_RE.exec(value);
  const unit = UNITS[(m?.[2] || 'b').toLowerCase()];
  if (!m || unit === undefined) throw new Error(`"${value}" is not a size: write bytes or a number with a unit such as 500MB or 10GiB`);
  const bytes = Number(m[1]) * unit;
  if (!Number.isSafeInteger(bytes)) throw new Error(`"${value}" is not a whole number of bytes below 2^53`);
  return bytes;
}

/** The largest storage limit: 1 PiB, Harbor's MaxLimitedValue. */
export const MAX_STORAGE_LIMIT = 2 ** 50;

/** A storage limit in bytes from bytes or a size with a unit: -1 (unlimited), or 0 to 1 PiB. */
export function parseStorageLimit(value: string | number): number {
  const bytes = parseSize(value);
  if (bytes > MAX_STORAGE_LIMIT) throw new Error(`${describeSize(bytes)} is above the largest storage limit, ${describeSize(MAX_STORAGE_LIMIT)}; use -1 for unlimited`);
  return bytes;
}

/** "9.5 MiB" (binary units, one decimal), or "812 bytes". */
export function formatSize(bytes: number): string {
  if (Math.abs(bytes) < 1024) return `${bytes} bytes`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
  let value = bytes / 1024;
  let i = 0;
  while (Math.abs(value) >= 1024 && i < units.length - 1) {
    value /= 1024;
    i++;
  }
  return `${value.toFixed(1)} ${units[i]}`;
}

/** "9.5 MiB (9961472 bytes)": readable, and exact for anyone comparing numbers. */
export function describeSize(bytes: number): string {
  return Math.abs(bytes) < 1024 ? `${bytes} bytes` : `${formatSize(bytes)} (${bytes} bytes)`;
}

// TXT values in the presentation format HTTP DNS APIs use (Route53, Cloudflare): one or more
// quoted <character-string>s (RFC 1035 5.1) of at most 255 bytes, with " and \ escaped.

/** `abc` -> `"abc"`; longer than 255 bytes -> `"first 255" "rest"`. */
export function quoteTxt(value: string): string {
  const bytes = Buffer.from(value, 'utf8');
  const parts: string[] = [];
  for (let i = 0; i < bytes.length || i === 0; i += 255) {
    // Do not cut a UTF-8 sequence: step back to a lead byte.
    let end = Math.min(i + 255, bytes.length);
    while (end < bytes.length && end > i && (bytes[end]! & 0xc0) === 0x80) end--;
    parts.push(`"${bytes.subarray(i, end).toString('utf8').replace(/[\\"]/g, (c) => `\\${c}`)}"`);
    if (end !== i + 255 && end < bytes.length) i = end - 255;
  }
  return parts.join(' ');
}

/** The inverse of quoteTxt; a value without quotes is returned as is (older API answers). */
export function unquoteTxt(text: string): string {
  const t = text.trim();
  if (!t.startsWith('"')) return t;
  let out = '';
  const re = /"((?:[^"\\]|\\.)*)"/g;
  for (let m = re.exec(t); m; m = re.exec(t)) {
    out += m[1]!.replace(/\\(\d{3}|.)/g, (_, c: string) => (c.length === 3 ? String.fromCharCode(Number(c)) : c));
  }
  return out;
}

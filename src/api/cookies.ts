// The two cookies of a UI session (RFC 6265): reading one from a Cookie header and writing a
// Set-Cookie line. Values are base64url tokens made here, so no quoting or encoding is needed.

/** The value of cookie `name` in a Cookie header, or undefined (the first one wins, as browsers send the most specific first). */
export function readCookie(header: string | undefined, name: string): string | undefined {
  if (!header || header.length > 8192) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    if (part.slice(0, eq).trim() !== name) continue;
    const value = part.slice(eq + 1).trim();
    return value.replace(/^"(.*)"$/, '$1');
  }
  return undefined;
}

export interface CookieAttributes {
  /** Unreadable by scripts (the session); the CSRF cookie is read by the UI, so it is not. */
  httpOnly: boolean;
  /** Sent over HTTPS only: when the registry is reached over TLS (its own, or a trusted proxy's). */
  secure: boolean;
  /** Seconds; 0 deletes the cookie. Absent: a browser-session cookie. */
  maxAge?: number;
}

/** A Set-Cookie value: always SameSite=Strict and Path=/ (the UI and the API share the origin). */
export function setCookie(name: string, value: string, attrs: CookieAttributes): string {
  let line = `${name}=${value}; Path=/; SameSite=Strict`;
  if (attrs.maxAge !== undefined) line += `; Max-Age=${attrs.maxAge}`;
  if (attrs.httpOnly) line += '; HttpOnly';
  if (attrs.secure) line += '; Secure';
  return line;
}

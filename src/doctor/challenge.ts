// Reading what a registry says about authentication: the WWW-Authenticate challenge (RFC 9110
// auth-params, as the Docker token spec uses them) and the times inside a JWT (not verified:
// doctor only compares them with the clocks).

export interface Challenge {
  /** Lowercase: "bearer", "basic". */
  scheme: string;
  params: Record<string, string>;
}

const PART = /\s*,?\s*([!#$%&'*+.^_`|~\w-]+)(?:\s*=\s*("(?:[^"\\]|\\.)*"|[^\s,]*))?/y;

/** Every challenge in a WWW-Authenticate value ("Bearer realm=\"...\",service=\"...\", Basic realm=\"x\""). */
export function parseChallenges(value: string): Challenge[] {
  const challenges: Challenge[] = [];
  PART.lastIndex = 0;
  for (let m = PART.exec(value); m && m[0] !== ''; m = PART.exec(value)) {
    const [, name, raw] = m;
    if (raw === undefined) challenges.push({ scheme: name!.toLowerCase(), params: {} });
    else if (challenges.length > 0) {
      const v = raw.startsWith('"') ? raw.slice(1, -1).replace(/\\(.)/g, '$1') : raw;
      challenges[challenges.length - 1]!.params[name!.toLowerCase()] = v;
    }
  }
  return challenges;
}

export interface TokenTimes {
  exp?: number;
  nbf?: number;
  iat?: number;
}

/** The time claims of a JWT (seconds since the epoch), or undefined when the token is not a JWT. */
export function jwtTimes(token: string): TokenTimes | undefined {
  const parts = token.split('.');
  if (parts.length !== 3) return undefined;
  try {
    const claims = JSON.parse(Buffer.from(parts[1]!, 'base64url').toString('utf8')) as Record<string, unknown>;
    if (typeof claims !== 'object' || claims === null) return undefined;
    const num = (k: string) => (typeof claims[k] === 'number' ? { [k]: claims[k] as number } : {});
    return { ...num('exp'), ...num('nbf'), ...num('iat') };
  } catch {
    return undefined;
  }
}

// Issues and verifies the short-lived bearer tokens of the Docker token flow
// (https://distribution.github.io/distribution/spec/auth/jwt/): ES256 JWTs whose `access`
// claim lists the granted scopes. The signing key is made once and kept in the asset store
// (embedded: <data>/token-key.jwk, 0600), which every replica of a fleet shares: a token one
// replica issued is accepted by all of them.
import { randomUUID } from 'node:crypto';
import { exportJWK, generateKeyPair, importJWK, jwtVerify, SignJWT, type JWK } from 'jose';
import type { KeyValueStore } from '../coordination/coordination.js';
import type { Access } from './scope.js';

export interface TokenClaims {
  subject: string;
  access: Access[];
  expiresAt: number;
}

type Key = Awaited<ReturnType<typeof importJWK>>;

/** The schema's bound on auth.token.ttlSeconds, plus a minute of clock skew. */
const MAX_TOKEN_AGE_SECONDS = 3600 + 60;

/** The signing key's key in the asset store. */
export const TOKEN_KEY = 'token-key.jwk';

export class TokenService {
  // Verified tokens, so a busy client costs one ECDSA verify per token, not per request.
  private readonly verified = new Map<string, TokenClaims>();

  private constructor(
    private readonly privateKey: Key,
    private readonly publicKey: Key,
    private readonly kid: string,
    readonly issuer: string,
    readonly service: string,
    readonly ttlSeconds: number,
  ) {}

  /**
   * Loads the signing key, creating it on first use. Replicas starting together each make one
   * and store it only if none is there yet (storeIfAbsent): all of them then use the first.
   */
  static async open(kv: KeyValueStore, opts: { issuer: string; service: string; ttlSeconds: number }): Promise<TokenService> {
    const where = kv.locate?.(TOKEN_KEY) ?? TOKEN_KEY;
    let stored = await kv.load(TOKEN_KEY).catch((err: Error) => {
      throw new Error(`cannot read the token-signing key ${where}: ${err.message}`);
    });
    if (stored === undefined) {
      const { privateKey } = await generateKeyPair('ES256', { extractable: true });
      const fresh = Buffer.from(JSON.stringify({ ...(await exportJWK(privateKey)), kid: randomUUID(), alg: 'ES256' }));
      stored = (await kv.storeIfAbsent(TOKEN_KEY, fresh)) ? fresh : await kv.load(TOKEN_KEY);
    }
    let jwk: JWK;
    try {
      jwk = JSON.parse(stored!.toString('utf8')) as JWK;
    } catch (err) {
      throw new Error(`the token-signing key ${where} is not JSON (${(err as Error).message}); delete it to make a new one (signed-in clients then log in again)`);
    }
    const { d: _d, ...pub } = jwk;
    return new TokenService(
      await importJWK(jwk, 'ES256'),
      await importJWK(pub, 'ES256'),
      jwk.kid ?? 'minato',
      opts.issuer,
      opts.service,
      opts.ttlSeconds,
    );
  }

  async issue(subject: string, access: Access[]): Promise<{ token: string; expiresIn: number; issuedAt: string }> {
    const now = Math.floor(Date.now() / 1000);
    const token = await new SignJWT({ access })
      .setProtectedHeader({ alg: 'ES256', kid: this.kid, typ: 'JWT' })
      .setIssuer(this.issuer)
      .setAudience(this.service)
      .setSubject(subject)
      .setIssuedAt(now)
      .setNotBefore(now - 5)
      .setExpirationTime(now + this.ttlSeconds)
      .setJti(randomUUID())
      .sign(this.privateKey);
    return { token, expiresIn: this.ttlSeconds, issuedAt: new Date(now * 1000).toISOString() };
  }

  /** Claims of a valid token, or undefined for a bad, foreign or expired one. */
  async verify(token: string): Promise<TokenClaims | undefined> {
    const cached = this.verified.get(token);
    if (cached) {
      if (cached.expiresAt > Date.now()) return cached;
      this.verified.delete(token);
      return undefined;
    }
    try {
      const { payload } = await jwtVerify(token, this.publicKey, {
        issuer: this.issuer,
        audience: this.service,
        algorithms: ['ES256'],
        // A token without an expiry would be good forever; one issued longer ago than the
        // longest lifetime we issue (auth.token.ttlSeconds <= 3600) was not issued by us as is.
        requiredClaims: ['exp', 'iat'],
        maxTokenAge: MAX_TOKEN_AGE_SECONDS,
      });
      const claims: TokenClaims = {
        subject: payload.sub ?? '',
        access: parseAccessClaim(payload.access),
        expiresAt: (payload.exp ?? 0) * 1000,
      };
      if (this.verified.size >= 10_000) this.verified.clear();
      this.verified.set(token, claims);
      return claims;
    } catch {
      return undefined;
    }
  }
}

function parseAccessClaim(value: unknown): Access[] {
  if (!Array.isArray(value)) return [];
  return value.flatMap((v: unknown) => {
    const a = v as Partial<Access>;
    return typeof a?.type === 'string' && typeof a.name === 'string' && Array.isArray(a.actions)
      ? [{ type: a.type, name: a.name, actions: a.actions.filter((x): x is string => typeof x === 'string') }]
      : [];
  });
}

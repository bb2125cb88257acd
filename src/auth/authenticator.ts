// Turns a request's Authorization header into a principal and decides whether it may perform
// one action on one resource. Basic credentials are accepted in every mode (checked through a
// short-lived cache, and, when not cached, through the login throttle); bearer tokens when the
// token service is on.
import { basicCredential, type CredentialCache } from './credential-cache.js';
import type { IdentityProvider } from './identity.js';
import type { LoginThrottle } from './login-throttle.js';
import { ANONYMOUS, type Principal, type RegistryPolicy } from './policy.js';
import { isRobotLogin } from './robot-identity.js';
import { grants, type Access } from './scope.js';
import type { TokenService } from './token-service.js';

export interface Need {
  type: string;
  name: string;
  action: string;
}

/**
 * What a request's credentials allow: its principal and, for a bearer token, the token's own
 * access list. Kept with the request, so that whatever the request does beyond its own need (a
 * mount reads its source) is asked of the same credentials (`Authenticator.permits`).
 */
export interface Grant {
  principal: Principal;
  /** The bearer token's scopes; undefined for Basic and anonymous requests, which the policy alone decides. */
  token?: readonly Access[];
  /**
   * What a management API request's access rule has already allowed with Harbor's finer
   * permission (artifact:delete or tag:delete allow the repository's "delete", tag:create and
   * artifact:create its "push"), so the policy points do not ask for the coarser repository
   * permission again: a robot given artifact:delete without repository:delete deletes artifacts,
   * as in Harbor. Only this need, on this repository; anything else the change does (a copy's
   * pull from its source) is decided as usual.
   */
  authorized?: Need;
}

export type Decision =
  | ({ ok: true } & Grant)
  /** 401: no or bad credentials, or a token lacking the scope (the client should get a new one). */
  | { ok: false; status: 401; message: string; insufficientScope: boolean }
  /** 403: a known user that the policy refuses. */
  | { ok: false; status: 403; message: string; principal: Principal }
  /** 429: too many failed logins from this client; nothing was checked. */
  | { ok: false; status: 429; message: string; retryAfterSeconds: number };

/** A password check that did not give a principal: wrong credentials, or refused by the throttle. */
export type LoginRefusal = { refused: 'credentials' } | { refused: 'throttled'; retryAfterSeconds: number; message: string };

/** Why a request's credentials were not accepted, as counted in minato_auth_failures_total. */
export type AuthFailure = 'password' | 'token' | 'throttled';

export interface AuthenticatorOptions {
  throttle?: LoginThrottle;
  /** Called for every refused credential (metrics). */
  onFailure?(reason: AuthFailure): void;
  /** Called for every password actually checked (not answered from the cache): the login events. */
  onLogin?(login: { user: string; ok: boolean; reason?: 'password' | 'throttled'; address: string }): void;
}

const WRONG: LoginRefusal = { refused: 'credentials' };

/** "Basic abc=" -> { scheme: 'basic', value: 'abc=' } (scheme lowercased, value trimmed). */
export function parseAuthorization(header: string): { scheme: string; value: string } {
  const space = header.indexOf(' ');
  return { scheme: header.slice(0, space).toLowerCase(), value: header.slice(space + 1).trim() };
}

export class Authenticator {
  /** Basic checks in flight, by address and credential (see basicLogin). */
  private readonly checking = new Map<string, Promise<Principal | LoginRefusal>>();

  constructor(
    private readonly identity: IdentityProvider,
    private readonly cache: CredentialCache,
    private readonly tokens: TokenService | undefined,
    private readonly policy: RegistryPolicy,
    private readonly anonymousPull: boolean,
    private readonly opts: AuthenticatorOptions = {},
  ) {
    // Changed users or passwords: cached logins may be stale, and a user refused for failed
    // logins may just have been given the password it was trying.
    identity.onChange(() => {
      cache.clear();
      opts.throttle?.clear();
    });
  }

  get tokenService(): TokenService | undefined {
    return this.tokens;
  }

  /** Checks user and password from `address` (the client's), with the cache in front of the slow hash. */
  async passwordLogin(user: string, password: string, address: string): Promise<Principal | LoginRefusal> {
    // A colon cannot be part of a Basic user name (RFC 7617), and would make the cache key ambiguous.
    if (user.includes(':')) return WRONG;
    return this.basicLogin(basicCredential(user, password), address);
  }

  /**
   * A sign-in to the UI (POST /c/login): the password is always checked, never answered from the
   * cache, so every one goes through the throttle and the login events (the audit log records
   * each UI login). A success is cached for Basic requests as any other.
   */
  async interactiveLogin(user: string, password: string, address: string): Promise<Principal | LoginRefusal> {
    if (user.includes(':')) return WRONG;
    return this.verifyBasic(basicCredential(user, password), address);
  }

  /**
   * The decision when it needs no slow work: no credentials, or Basic credentials verified
   * recently. Undefined when only `decide` can tell (a bcrypt to run, a token to verify).
   * Every request asks this first, so the usual one costs a hash and a map lookup, no promise
   * (and on a kept-alive `connection` that sent the same header before, not even the hash).
   */
  decideCached(authorization: string | undefined, need: Need | null, connection?: object): Decision | undefined {
    if (authorization === undefined || authorization === '') {
      if (need === null ? this.anonymousPull : this.policy.isAllowed(ANONYMOUS, need.type, need.name, need.action)) return { ok: true, principal: ANONYMOUS };
      return { ok: false, status: 401, message: 'authentication required', insufficientScope: false };
    }
    const { scheme, value } = parseAuthorization(authorization);
    if (scheme !== 'basic') return undefined;
    const user = this.cache.userFor(value, connection);
    if (user === undefined) return undefined;
    const principal = principalFor(user);
    // A first push that creates its project: only decide() does that work.
    if (need !== null && this.policy.needsPreparation(principal, need.type, need.name, need.action)) return undefined;
    return this.basicDecision(principal, need);
  }

  /**
   * `need` null means "any authenticated client" (GET /v2/). `address` is the client's (see
   * server/client-address.ts), for the login throttle.
   */
  async decide(authorization: string | undefined, need: Need | null, address: string): Promise<Decision> {
    const cached = this.decideCached(authorization, need);
    if (cached) return cached;
    const { scheme, value } = parseAuthorization(authorization!);
    if (scheme === 'basic') {
      const login = await this.basicLogin(value, address);
      if ('user' in login) {
        await this.prepare(login, need, address);
        return this.basicDecision(login, need);
      }
      if (login.refused === 'throttled') {
        return { ok: false, status: 429, message: login.message, retryAfterSeconds: login.retryAfterSeconds };
      }
      return { ok: false, status: 401, message: 'invalid username or password', insufficientScope: false };
    }
    if (scheme === 'bearer' && this.tokens) {
      const claims = await this.tokens.verify(value);
      if (!claims) {
        this.opts.onFailure?.('token');
        return { ok: false, status: 401, message: 'invalid or expired token', insufficientScope: false };
      }
      const principal: Principal = claims.subject === '' ? ANONYMOUS : principalFor(claims.subject);
      // The policy is asked too, not only the token: an anonymous token must not open the
      // registry once anonymous pull is off (nor GET /v2/ while it is off).
      if (principal.user === null && !this.anonymousPull) {
        return { ok: false, status: 401, message: 'anonymous access is not allowed on this registry; sign in', insufficientScope: false };
      }
      await this.prepare(principal, need, address);
      const grant: Decision = { ok: true, principal, token: claims.access };
      if (need === null || this.permits(grant, need)) return grant;
      // A new token would not help when the principal itself is refused: say why, once.
      if (principal.user !== null && !this.policy.isAllowed(principal, need.type, need.name, need.action)) {
        return { ok: false, status: 403, message: this.policy.explain(principal, need.type, need.name, need.action), principal };
      }
      return { ok: false, status: 401, message: `token does not grant ${need.action} on ${need.name}`, insufficientScope: true };
    }
    return { ok: false, status: 401, message: 'unsupported authorization scheme', insufficientScope: false };
  }

  private async prepare(principal: Principal, need: Need | null, address: string): Promise<void> {
    if (need !== null && principal.user !== null) await this.policy.prepare(principal, need.type, need.name, need.action, address);
  }

  private basicDecision(principal: Principal, need: Need | null): Decision {
    if (need === null || this.policy.isAllowed(principal, need.type, need.name, need.action)) return { ok: true, principal };
    return { ok: false, status: 403, message: this.policy.explain(principal, need.type, need.name, need.action), principal };
  }

  /**
   * Whether the credentials a request was granted with also allow `need` (e.g. pull the source
   * of a mount): the policy for its principal and, for a bearer token, the token's scopes too.
   * No I/O, no allocation.
   */
  permits(grant: Grant, need: Need): boolean {
    const done = grant.authorized;
    if (done !== undefined && done.type === need.type && done.name === need.name && done.action === need.action) return true;
    if (!this.policy.isAllowed(grant.principal, need.type, need.name, need.action)) return false;
    return grant.token === undefined || grants(grant.token, need.type, need.name, need.action);
  }

  /**
   * Checks a Basic credential (base64 of "user:password") sent from `address`. A credential
   * verified recently is answered from the cache (the throttle is not asked: only the right
   * password gets there); any other asks the throttle first, then runs the slow hash. Requests
   * that bring the same credential from the same address while it is being checked wait for that
   * one check: a client pushing layers on 32 connections when its cache entry has expired costs
   * one bcrypt and one throttle attempt, not 32 (which the throttle, counting attempts in flight
   * as failures, refused with 429 from the eleventh on).
   */
  basicLogin(value: string, address: string): Promise<Principal | LoginRefusal> {
    const cached = this.cache.userFor(value);
    if (cached !== undefined) return Promise.resolve(principalFor(cached));
    const key = `${address} ${value}`;
    let check = this.checking.get(key);
    if (check === undefined) {
      check = this.verifyBasic(value, address).finally(() => this.checking.delete(key));
      this.checking.set(key, check);
    }
    return check;
  }

  private async verifyBasic(value: string, address: string): Promise<Principal | LoginRefusal> {
    const decoded = Buffer.from(value, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    const user = colon <= 0 ? undefined : decoded.slice(0, colon);
    const wait = this.opts.throttle?.attempt(address, user) ?? 0;
    if (wait > 0) {
      this.opts.onFailure?.('throttled');
      this.opts.onLogin?.({ user: user ?? '', ok: false, reason: 'throttled', address });
      return { refused: 'throttled', retryAfterSeconds: wait, message: `too many failed logins from this address; retry in ${wait} s` };
    }
    if (user === undefined || !(await this.identity.verify(user, decoded.slice(colon + 1)))) {
      this.opts.onFailure?.('password');
      this.opts.onLogin?.({ user: user ?? '', ok: false, reason: 'password', address });
      return WRONG;
    }
    this.opts.onLogin?.({ user, ok: true, address });
    this.opts.throttle?.succeeded(address, user);
    this.cache.add(value, user);
    return principalFor(user);
  }

  grantsFor(principal: Principal, requested: Access[]): Access[] {
    return requested
      .map((r) => ({ ...r, actions: this.policy.allowedActions(principal, r.type, r.name, r.actions) }))
      .filter((r) => r.actions.length > 0);
  }
}

/** The principal of a login name: robots by their prefix. */
export function principalFor(name: string): Principal {
  return isRobotLogin(name) ? { user: name, robot: true } : { user: name };
}

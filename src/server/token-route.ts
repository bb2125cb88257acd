// The Docker token endpoint (https://distribution.github.io/distribution/spec/auth/token/).
// GET /token: Basic credentials (or none, for anonymous pull) in, a signed JWT with the granted
// scopes out. POST /token: the OAuth2 password grant containerd uses when it has credentials
// (https://distribution.github.io/distribution/spec/auth/oauth/). Scopes the client may not
// have, and scopes naming nothing the registry has, are left out of the token rather than
// refused, as the spec says. A request for another service, with a parameter given twice, or
// with more than MAX_REQUESTED_SCOPES scopes is refused (400).
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { parseAuthorization, type Authenticator, type LoginRefusal } from '../auth/authenticator.js';
import { ANONYMOUS, type Principal } from '../auth/policy.js';
import { countScopes, MAX_REQUESTED_SCOPES, parseScopes } from '../auth/scope.js';
import type { TokenService } from '../auth/token-service.js';
import type { ClientAddresses } from './client-address.js';

/** No usable credentials at all (another scheme, or an empty user name). */
const WRONG_SCHEME: LoginRefusal = { refused: 'credentials' };

/** All values of one request parameter (query string or form). */
type Params = (name: string) => string[];

/** A refused token request: the OAuth2 error code (RFC 6749, section 5.2) and a message. */
class TokenRequestError extends Error {
  constructor(
    readonly oauthError: 'invalid_request' | 'invalid_scope' | 'unsupported_grant_type',
    message: string,
  ) {
    super(message);
  }
}

function single(params: Params, name: string): string | undefined {
  const values = params(name);
  if (values.length > 1) throw new TokenRequestError('invalid_request', `parameter "${name}" must be given once, not ${values.length} times`);
  return values[0];
}

/**
 * The scopes a request asks for, after checking what every token request must satisfy. A
 * missing `service` is accepted (Docker and containerd always send it; some scripts do not, and
 * Distribution's token servers accept that); a wrong one is refused, since the token would not
 * be accepted by the registry the client meant.
 */
function checkRequest(params: Params, service: string): string[] {
  const asked = single(params, 'service');
  if (asked !== undefined && asked !== service) {
    throw new TokenRequestError('invalid_request', `this token endpoint issues tokens for service "${service}", not "${asked.slice(0, 100)}"`);
  }
  for (const name of ['account', 'client_id', 'offline_token', 'grant_type', 'username', 'password', 'access_type']) single(params, name);
  const scopes = params('scope');
  const count = countScopes(scopes);
  if (count > MAX_REQUESTED_SCOPES) {
    throw new TokenRequestError('invalid_scope', `a token request may ask for at most ${MAX_REQUESTED_SCOPES} scopes, this one asks for ${count}`);
  }
  return scopes;
}

export function registerTokenRoute(app: FastifyInstance, auth: Authenticator, tokens: TokenService, basicRealm: string, clients: ClientAddresses): void {
  /** The answer to a login that gave no principal: 401, or 429 with Retry-After from the throttle. */
  const refused = (reply: FastifyReply, refusal: LoginRefusal) => {
    reply.header('Content-Type', 'application/json');
    if (refusal.refused === 'throttled') {
      reply.code(429).header('Retry-After', refusal.retryAfterSeconds);
      return JSON.stringify({ errors: [{ code: 'TOOMANYREQUESTS', message: refusal.message }], error: 'slow_down', error_description: refusal.message });
    }
    reply.code(401).header('WWW-Authenticate', `Basic realm="${basicRealm}"`);
    return JSON.stringify({ errors: [{ code: 'UNAUTHORIZED', message: 'invalid username or password' }] });
  };
  const issue = async (reply: FastifyReply, principal: Principal, scopes: string[]) => {
    const { token, expiresIn, issuedAt } = await tokens.issue(principal.user ?? '', auth.grantsFor(principal, parseScopes(scopes)));
    reply.header('Content-Type', 'application/json').header('Cache-Control', 'no-store');
    return JSON.stringify({ token, access_token: token, expires_in: expiresIn, issued_at: issuedAt });
  };

  app.get('/token', refusing(async (request, reply) => {
    const q = request.query as Record<string, string | string[] | undefined>;
    const scopes = checkRequest((name) => ([] as string[]).concat(q[name] ?? []), tokens.service);
    let principal: Principal = ANONYMOUS;
    const header = request.headers.authorization;
    if (header !== undefined) {
      const { scheme, value } = parseAuthorization(header);
      const login = scheme === 'basic' ? await auth.basicLogin(value, clients.of(request.raw)) : WRONG_SCHEME;
      if (!('user' in login)) return refused(reply, login);
      principal = login;
    }
    return issue(reply, principal, scopes);
  }));

  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string', bodyLimit: 64 * 1024 }, (_request, body, done) => {
    done(null, new URLSearchParams(body as string));
  });
  app.post('/token', refusing(async (request, reply) => {
    const form = request.body instanceof URLSearchParams ? request.body : new URLSearchParams();
    const scopes = checkRequest((name) => form.getAll(name), tokens.service);
    if (form.get('grant_type') !== 'password') {
      throw new TokenRequestError('unsupported_grant_type', 'only grant_type=password is supported; use GET /token otherwise');
    }
    const user = form.get('username') ?? '';
    const login = user === '' ? WRONG_SCHEME : await auth.passwordLogin(user, form.get('password') ?? '', clients.of(request.raw));
    if (!('user' in login)) return refused(reply, login);
    return issue(reply, login, scopes);
  }));
}

/** Answers a TokenRequestError with a 400 both kinds of client read: Docker's {"errors":[...]} and OAuth2's error fields. */
function refusing(handler: (request: FastifyRequest, reply: FastifyReply) => Promise<string>) {
  return async (request: FastifyRequest, reply: FastifyReply): Promise<string> => {
    try {
      return await handler(request, reply);
    } catch (err) {
      if (!(err instanceof TokenRequestError)) throw err;
      reply.code(400).header('Content-Type', 'application/json').header('Cache-Control', 'no-store');
      return JSON.stringify({ errors: [{ code: 'UNSUPPORTED', message: err.message }], error: err.oauthError, error_description: err.message });
    }
  };
}

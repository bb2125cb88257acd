// The Docker token endpoint (https://distribution.github.io/distribution/spec/auth/token/).
// GET /token: Basic credentials (or none, for anonymous pull) in, a signed JWT with the granted
// scopes out. POST /token: the OAuth2 password grant containerd uses when it has credentials
// (https://distribution.github.io/distribution/spec/auth/oauth/). Scopes the client may not
// have are left out of the token rather than refused, as the spec says.
import type { FastifyInstance, FastifyReply } from 'fastify';
import { parseAuthorization, type Authenticator } from '../auth/authenticator.js';
import { ANONYMOUS, type Principal } from '../auth/policy.js';
import { parseScope, type Access } from '../auth/scope.js';
import type { TokenService } from '../auth/token-service.js';

export function registerTokenRoute(app: FastifyInstance, auth: Authenticator, tokens: TokenService, basicRealm: string): void {
  const unauthorized = (reply: FastifyReply, message: string) => {
    reply.code(401).header('WWW-Authenticate', `Basic realm="${basicRealm}"`).header('Content-Type', 'application/json');
    return JSON.stringify({ errors: [{ code: 'UNAUTHORIZED', message }] });
  };
  const issue = async (reply: FastifyReply, principal: Principal, scopes: string[]) => {
    const requested = scopes.flatMap((s) => s.split(' ')).map(parseScope).filter((a): a is Access => a !== undefined);
    const { token, expiresIn, issuedAt } = await tokens.issue(principal.user ?? '', auth.grantsFor(principal, requested));
    reply.header('Content-Type', 'application/json').header('Cache-Control', 'no-store');
    return JSON.stringify({ token, access_token: token, expires_in: expiresIn, issued_at: issuedAt });
  };

  app.get('/token', async (request, reply) => {
    const q = request.query as Record<string, string | string[] | undefined>;
    let principal: Principal = ANONYMOUS;
    const header = request.headers.authorization;
    if (header !== undefined) {
      const { scheme, value } = parseAuthorization(header);
      const found = scheme === 'basic' ? await auth.basicPrincipal(value) : undefined;
      if (!found) return unauthorized(reply, 'invalid username or password');
      principal = found;
    }
    return issue(reply, principal, ([] as string[]).concat(q.scope ?? []));
  });

  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string', bodyLimit: 64 * 1024 }, (_request, body, done) => {
    done(null, new URLSearchParams(body as string));
  });
  app.post('/token', async (request, reply) => {
    const form = request.body instanceof URLSearchParams ? request.body : new URLSearchParams();
    if (form.get('grant_type') !== 'password') {
      reply.code(400).header('Content-Type', 'application/json');
      return JSON.stringify({ error: 'unsupported_grant_type', error_description: 'only grant_type=password is supported; use GET /token otherwise' });
    }
    const user = form.get('username') ?? '';
    if (user === '' || !(await auth.checkPassword(user, form.get('password') ?? ''))) return unauthorized(reply, 'invalid username or password');
    return issue(reply, { user }, form.getAll('scope'));
  });
}

// http.v2, http.challenge, http.clock, auth.token and auth.login: what `docker login` goes
// through. GET /v2/ without credentials, read the challenge; for a Bearer realm, check that it
// keeps the scheme and host the client used (behind a TLS-terminating proxy that does not say
// X-Forwarded-Proto the realm comes out http://, and the token request meets nginx's 400 "plain
// HTTP request was sent to HTTPS port"), fetch a token, compare its times with the clocks, and
// use it on /v2/ as a client would.
import { basicCredential } from '../auth/credential-cache.js';
import type { Report } from './check.js';
import { jwtTimes, parseChallenges, type Challenge } from './challenge.js';
import { header, HttpError, type HttpClient, type HttpResponse } from './http-client.js';
import { originKey, type Target } from './target.js';

export interface Credentials {
  user: string;
  password: string;
}

export interface ApiContext {
  target: Target;
  http: HttpClient;
  /** Credentials may be sent: the server's certificate verified (or the user chose http://). */
  trusted: boolean;
  /** Why they may not, for the skips. */
  untrustedReason?: string;
  credentials?: Credentials;
  repository: string;
  /** The push probe will run: ask the token for push and delete too. */
  push: boolean;
}

export interface ApiOutcome {
  /** Authorization header value for the push probe (Bearer token, or Basic). */
  authorization?: string;
  /** Why there is none, for the push checks' skip. */
  noAuthorizationReason?: string;
}

const PLAIN_TO_TLS = /plain HTTP request was sent to HTTPS port/i;
const CLOCK_WARN_S = 10;

const T = {
  v2: 'GET /v2/',
  challenge: 'authentication challenge',
  clock: 'clock skew',
  token: 'token from the realm',
  login: 'login (credentials on /v2/)',
};

function basic(c: Credentials): string {
  return `Basic ${basicCredential(c.user, c.password)}`;
}

/** When /v2/ cannot be reached at all. */
export function skipApi(report: Report, reason: string): ApiOutcome {
  return skipAll(report, ['v2', 'challenge', 'clock', 'token', 'login'], reason);
}

function skipAll(report: Report, ids: Array<keyof typeof T>, reason: string): ApiOutcome {
  const idOf = { v2: 'http.v2', challenge: 'http.challenge', clock: 'http.clock', token: 'auth.token', login: 'auth.login' };
  for (const k of ids) report.skip(idOf[k], T[k], reason);
  return { noAuthorizationReason: reason };
}

export async function checkApi(report: Report, ctx: ApiContext): Promise<ApiOutcome> {
  const { target } = ctx;
  const v2 = `${target.origin}/v2/`;
  let res: HttpResponse;
  const sentAt = Date.now();
  try {
    res = await ctx.http(v2);
  } catch (err) {
    report.fail('http.v2', T.v2, `GET ${v2} failed`, (err as Error).message, err instanceof HttpError && err.code === 'ETIMEDOUT' ? 'check the registry (or the proxy in front of it) is up and not overloaded' : 'see the checks above');
    return skipAll(report, ['challenge', 'clock', 'token', 'login'], 'GET /v2/ failed');
  }
  const midpoint = (sentAt + Date.now()) / 2;
  const apiVersion = header(res, 'docker-distribution-api-version');
  const seen = `${res.status}${apiVersion ? `, Docker-Distribution-API-Version: ${apiVersion}` : ''}${ctx.trusted || target.scheme === 'http' ? '' : ' (certificate not verified)'}`;
  if (res.status !== 200 && res.status !== 401) {
    report.add({ id: 'http.v2', title: T.v2, status: 'fail', detail: seen, ...v2Failure(res, target) });
    return skipAll(report, ['challenge', 'clock', 'token', 'login'], `GET /v2/ answered ${res.status}`);
  }
  if (!apiVersion) {
    report.warn('http.v2', T.v2, seen, 'the answer lacks Docker-Distribution-API-Version: registry/2.0; clients use it to recognise a registry (a proxy answering for it, e.g. with its own auth_basic, sends none)', 'let the registry answer /v2/ itself (nginx: no auth_basic in front of it)');
  } else {
    report.pass('http.v2', T.v2, seen);
  }

  const clockDate = header(res, 'date');
  checkClock(report, clockDate, midpoint);
  const registryDate = clockDate ? Date.parse(clockDate) : undefined;

  const challengeText = header(res, 'www-authenticate');
  let challenge: Challenge | undefined;
  if (res.status === 200) {
    report.pass('http.challenge', T.challenge, 'none: /v2/ answers 200 without credentials (anonymous access)');
  } else if (!challengeText) {
    report.fail('http.challenge', T.challenge, '401 without WWW-Authenticate', 'clients cannot tell how to authenticate', 'let the registry answer /v2/ itself; a proxy must pass WWW-Authenticate through');
  } else {
    const challenges = parseChallenges(challengeText);
    challenge = challenges.find((c) => c.scheme === 'bearer') ?? challenges.find((c) => c.scheme === 'basic');
    if (!challenge) {
      report.fail('http.challenge', T.challenge, challengeText, `neither Bearer nor Basic: docker, podman and containerd support only those`, 'configure the registry for Basic (htpasswd) or token authentication');
    } else if (challenge.scheme === 'basic') {
      if (target.scheme === 'http' && !target.ip) report.warn('http.challenge', T.challenge, challengeText, 'Basic authentication over plain HTTP sends the password in clear', 'serve HTTPS');
      else report.pass('http.challenge', T.challenge, challengeText);
    } else {
      realmVerdict(report, challenge, challengeText, target);
    }
  }

  if (!ctx.credentials) {
    report.skip('auth.token', T.token, challenge?.scheme === 'bearer' ? 'no --user given' : 'no Bearer challenge');
    report.skip('auth.login', T.login, 'no --user given');
    return { noAuthorizationReason: 'no --user given (the push probe needs credentials that may push)' };
  }
  if (!ctx.trusted) {
    return skipAll(report, ['token', 'login'], `no credentials sent: ${ctx.untrustedReason ?? 'the certificate is not accepted'}`);
  }
  if (res.status === 200) {
    report.skip('auth.token', T.token, 'no challenge');
    report.pass('auth.login', T.login, 'no authentication needed for /v2/');
    return { authorization: basic(ctx.credentials) };
  }
  if (!challenge) return skipAll(report, ['token', 'login'], 'no usable challenge');

  if (challenge.scheme === 'basic') {
    report.skip('auth.token', T.token, 'Basic challenge: no token');
    return loginWith(report, ctx, basic(ctx.credentials), 'Basic');
  }
  const token = await fetchToken(report, ctx, challenge, registryDate);
  if (token) return loginWith(report, ctx, `Bearer ${token}`, 'Bearer');
  // Without a token, clients cannot log in. Many registries (minato among them) also take Basic
  // credentials directly; with them the push checks still find what else is wrong.
  const direct = await ctx.http(v2, { headers: { Authorization: basic(ctx.credentials) } }).catch(() => undefined);
  if (direct?.status === 200) {
    report.skip('auth.login', T.login, 'no token (see auth.token); the registry also accepts Basic credentials directly, so the push checks use them');
    return { authorization: basic(ctx.credentials) };
  }
  report.skip('auth.login', T.login, 'no token (see auth.token)');
  return { noAuthorizationReason: 'no token (see auth.token)' };
}

function v2Failure(res: HttpResponse, target: Target): { cause: string; fix: string } {
  if (res.status === 400 && PLAIN_TO_TLS.test(res.text)) {
    return { cause: `${target.origin} is an HTTPS port: the proxy answers plain HTTP with 400`, fix: `use https://${target.hostPort}` };
  }
  if (res.status === 404) {
    return { cause: 'there is no registry API at /v2/: not a registry, or a proxy does not forward /v2/ to it', fix: 'nginx: location /v2/ { proxy_pass http://BACKEND; ... } (see docs/operations.md, "Behind a reverse proxy")' };
  }
  if (res.status === 502 || res.status === 503 || res.status === 504) {
    return { cause: `the proxy cannot reach the registry behind it (${res.status})`, fix: 'start the registry, and check the address in proxy_pass (and the proxy\'s error log)' };
  }
  if (res.status >= 300 && res.status < 400) {
    return { cause: `/v2/ redirects to ${header(res, 'location') ?? '(no Location)'}; clients do not follow redirects of /v2/`, fix: 'give the registry URL that answers /v2/ itself' };
  }
  return { cause: `a registry answers /v2/ with 200 or 401, this one with ${res.status}`, fix: 'check the registry\'s log' };
}

function checkClock(report: Report, date: string | undefined, localMidpoint: number): void {
  const server = date ? Date.parse(date) : NaN;
  if (Number.isNaN(server)) {
    report.skip('http.clock', T.clock, 'the server sent no Date header');
    return;
  }
  // Date has 1 s resolution and is truncated: the server's clock was somewhere in that second.
  const skew = Math.round((server + 500 - localMidpoint) / 1000);
  const words = skew === 0 ? 'same second as this machine' : `${Math.abs(skew)} s ${skew > 0 ? 'ahead of' : 'behind'} this machine`;
  if (Math.abs(skew) <= CLOCK_WARN_S) report.pass('http.clock', T.clock, `server Date ${date}: ${words}`);
  else {
    report.warn(
      'http.clock',
      T.clock,
      `server Date ${date}: ${words}`,
      'the clocks differ: certificates look not-yet-valid or expired to one side, and tokens issued by one clock expire early (or arrive expired) on the other',
      'run NTP on both machines (timedatectl set-ntp true; chronyc tracking)',
    );
  }
}

function realmVerdict(report: Report, challenge: Challenge, text: string, target: Target): void {
  const realm = challenge.params.realm;
  let url: URL | undefined;
  try {
    url = realm ? new URL(realm) : undefined;
  } catch {
    url = undefined;
  }
  if (!url || (url.protocol !== 'https:' && url.protocol !== 'http:')) {
    report.fail('http.challenge', T.challenge, text, `the Bearer realm ${realm ? `"${realm}" is not an absolute http(s) URL` : 'is missing'}`, 'the realm must be the absolute URL of the token endpoint (Distribution: auth.token.realm; minato: externalUrl)');
    return;
  }
  if (target.scheme === 'https' && url.protocol === 'http:') {
    report.fail(
      'http.challenge',
      T.challenge,
      text,
      `the token realm is ${url.origin}, plain HTTP, while you reach the registry over https: the registry behind a TLS-terminating proxy does not know that clients use https. ` +
        'Clients then fail with "Requesting bearer token: invalid status code from registry 400 (Bad Request)" (nginx answers plain HTTP on its TLS port with 400)',
      'in the proxy: proxy_set_header X-Forwarded-Proto $scheme; (and Host $http_host;). Or set the public URL: minato externalUrl: https://' +
        `${target.hostPort}; Distribution auth.token.realm: https://${target.hostPort}/...`,
    );
    return;
  }
  const sameHost = url.hostname.toLowerCase() === target.hostname.toLowerCase() || url.hostname === `[${target.hostname}]`;
  const sameOrigin = originKey(url) === originKey(new URL(target.origin));
  // The realm on the default port while the registry is reached on another: the registry was
  // told the host without the port (nginx `Host $host`). An explicit other port is a token service.
  if (sameHost && !sameOrigin && url.port === '' && new URL(target.origin).port !== '') {
    report.warn(
      'http.challenge',
      T.challenge,
      text,
      `the realm ${url.origin} names the registry's host without the port ${target.port} you use: a proxy that sends Host without the port`,
      'in the proxy: proxy_set_header Host $http_host; (not $host), or set the public URL (minato externalUrl)',
    );
    return;
  }
  if (!sameHost && /^(127\.|localhost$|\[?::1\]?$)/.test(url.hostname) && !/^(127\.|localhost$|::1$)/.test(target.hostname)) {
    report.warn('http.challenge', T.challenge, text, `the realm points to ${url.host}, a loopback address: only the registry's own machine can reach it`, 'set the public URL the registry should name itself with (minato externalUrl; Distribution auth.token.realm)');
    return;
  }
  report.pass('http.challenge', T.challenge, sameOrigin ? text : `${text} (token service on ${url.host})`);
}

async function fetchToken(report: Report, ctx: ApiContext, challenge: Challenge, registryDate: number | undefined): Promise<string | undefined> {
  const realm = new URL(challenge.params.realm!);
  if (challenge.params.service) realm.searchParams.set('service', challenge.params.service);
  realm.searchParams.set('scope', `repository:${ctx.repository}:${ctx.push ? 'pull,push,delete' : 'pull'}`);
  const credentials = ctx.credentials!;
  if (ctx.target.scheme === 'https' && realm.protocol === 'http:') {
    // Never send the password in clear; ask without it, to show what clients meet.
    const res = await ctx.http(realm).catch((err: Error) => err);
    const seen = res instanceof Error ? res.message : `${res.status}${PLAIN_TO_TLS.test(res.text) ? ' "The plain HTTP request was sent to HTTPS port"' : ''}`;
    report.fail(
      'auth.token',
      T.token,
      `GET ${realm.origin}${realm.pathname} (without credentials): ${seen}`,
      `the realm is plain HTTP (see http.challenge); doctor does not send the password there. ${res instanceof Error || res.status === 400 ? 'This is the 400 clients report as "Requesting bearer token: invalid status code from registry 400 (Bad Request)"' : 'Clients would send the password in clear'}`,
      'fix the realm (see http.challenge)',
    );
    return undefined;
  }
  let res: HttpResponse;
  try {
    res = await ctx.http(realm, { headers: { Authorization: basic(credentials) } });
  } catch (err) {
    report.fail('auth.token', T.token, `GET ${realm.origin}${realm.pathname} failed`, (err as Error).message, 'the token service must be reachable from clients at the realm URL');
    return undefined;
  }
  const where = `${realm.origin}${realm.pathname}`;
  if (res.status === 401 || res.status === 403) {
    report.fail('auth.token', T.token, `${where}: ${res.status}`, `the token service refused user "${credentials.user}" and this password`, 'check the password (htpasswd -vB FILE USER; minato: minato user add USER --password-stdin)');
    return undefined;
  }
  if (res.status !== 200) {
    report.fail('auth.token', T.token, `${where}: ${res.status}`, `the token service answered ${res.status}: ${res.text.slice(0, 200).replace(/\s+/g, ' ')}`, "check the token service's log");
    return undefined;
  }
  let body: { token?: unknown; access_token?: unknown; expires_in?: unknown };
  try {
    body = JSON.parse(res.text) as typeof body;
  } catch {
    report.fail('auth.token', T.token, `${where}: 200, not JSON`, 'a token endpoint answers {"token": "..."}; this is something else (a web page from a proxy?)', 'point the realm at the token endpoint');
    return undefined;
  }
  const token = typeof body.token === 'string' ? body.token : typeof body.access_token === 'string' ? body.access_token : undefined;
  if (!token) {
    report.fail('auth.token', T.token, `${where}: 200 without "token"`, 'the answer has no "token" (or "access_token") field', 'check the token service');
    return undefined;
  }
  const times = jwtTimes(token);
  const now = Date.now() / 1000;
  const left = times?.exp !== undefined ? Math.round(times.exp - now) : undefined;
  const ttl = left !== undefined ? (left > 0 ? ` expires in ${left} s` : ` expired ${-left} s ago`) : typeof body.expires_in === 'number' ? ` expires_in ${body.expires_in} s` : '';
  const detail = `token for ${ctx.repository} from ${where}${times ? `: JWT,${ttl}` : ': not a JWT (times not checked)'}`;
  if (times) {
    const regNow = registryDate !== undefined ? registryDate / 1000 : undefined;
    if (times.exp !== undefined && (times.exp <= now || (regNow !== undefined && times.exp <= regNow))) {
      report.fail(
        'auth.token',
        T.token,
        detail,
        `the token expired on arrival: exp ${iso(times.exp)}, this machine's clock ${iso(now)}${regNow !== undefined ? `, the registry's ${iso(regNow)}` : ''}. The token service's clock is behind, or its tokens live too short`,
        'run NTP on the token service and the registry (timedatectl set-ntp true); give tokens at least a few minutes (minato: auth.token.ttlSeconds)',
      );
      return token;
    }
    if (times.nbf !== undefined && times.nbf > now + 60) {
      report.fail('auth.token', T.token, detail, `the token is not valid before ${iso(times.nbf)}, ${Math.round(times.nbf - now)} s from now: the token service's clock is ahead`, 'run NTP on the token service (timedatectl set-ntp true)');
      return token;
    }
    if (times.iat !== undefined && Math.abs(times.iat - now) > 60) {
      report.warn('auth.token', T.token, detail, `the token says it was issued at ${iso(times.iat)}, ${Math.round(Math.abs(times.iat - now))} s ${times.iat > now ? 'ahead of' : 'behind'} this machine's clock`, 'run NTP on the token service and here (timedatectl set-ntp true)');
      return token;
    }
  }
  report.pass('auth.token', T.token, detail);
  return token;
}

function iso(seconds: number): string {
  return new Date(seconds * 1000).toISOString();
}

async function loginWith(report: Report, ctx: ApiContext, authorization: string, kind: 'Basic' | 'Bearer'): Promise<ApiOutcome> {
  const v2 = `${ctx.target.origin}/v2/`;
  const res = await ctx.http(v2, { headers: { Authorization: authorization } }).catch((err: Error) => err);
  if (res instanceof Error) {
    report.fail('auth.login', T.login, `GET /v2/ with ${kind} credentials failed`, res.message, 'see the checks above');
    return { noAuthorizationReason: 'login failed' };
  }
  if (res.status === 200) {
    report.pass('auth.login', T.login, `GET /v2/ with ${kind === 'Bearer' ? 'the token' : 'Basic credentials'}: 200 (docker login would succeed)`);
    return { authorization };
  }
  if (kind === 'Basic') {
    report.fail('auth.login', T.login, `GET /v2/ with Basic credentials: ${res.status}`, `the registry refused user "${ctx.credentials!.user}" and this password`, 'check the password (htpasswd -vB FILE USER; minato: minato user add USER --password-stdin)');
  } else {
    report.fail(
      'auth.login',
      T.login,
      `GET /v2/ with the token: ${res.status}`,
      'the registry refused a fresh token from its own realm: the token service and the registry disagree (service, issuer, signing certificate), or their clocks differ',
      'make the registry trust the token service (Distribution: auth.token.service, issuer and rootcertbundle must match the token service) and run NTP on both',
    );
  }
  return { noAuthorizationReason: 'login failed' };
}

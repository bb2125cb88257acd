// The one way the UI talks to the registry: the management API (/api/v2.0) and the session
// endpoints (/c/login, /c/log_out), same origin, with the session cookie. State changes carry
// the CSRF token the login handed out (cookie __csrf, sent back in X-Harbor-Csrf-Token). Every
// failure becomes an ApiError whose text says what happened and what to do about it.

export const API = '/api/v2.0';
const CSRF_COOKIE = '__csrf';
const CSRF_HEADER = 'X-Harbor-Csrf-Token';

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }

  /** What the person in front of the page can do about it. */
  get advice(): string {
    switch (this.status) {
      case 0:
        return 'The registry did not answer: check that it is running and that this computer reaches it, then try again.';
      case 401:
        return 'Your session has ended: sign in again.';
      case 403:
        return 'Your role does not allow this. The message says which role or permission it takes; ask a project admin (or a system administrator) for it.';
      case 404:
        return 'It may have been deleted or renamed in the meantime: go back and reload the list.';
      case 409:
        return 'It conflicts with what exists: reload to see the current state.';
      case 429:
        return 'Too many attempts: wait a moment before trying again.';
      case 503:
        return 'The registry is briefly unable to answer (its database or storage): nothing was changed; try again in a few seconds.';
      default:
        return this.status >= 500 ? 'The registry failed; its log has the details (look for this time). Nothing you typed was lost: try again.' : 'Correct what the message names and try again.';
    }
  }
}

function cookie(name: string): string | undefined {
  for (const part of document.cookie.split(';')) {
    const [k, ...v] = part.trim().split('=');
    if (k === name) return v.join('=');
  }
  return undefined;
}

export interface Page<T> {
  items: T[];
  total: number;
}

type Body = Record<string, unknown> | unknown[];

async function call(method: string, path: string, body?: Body | URLSearchParams): Promise<Response> {
  const headers: Record<string, string> = { Accept: 'application/json' };
  if (method !== 'GET' && method !== 'HEAD') {
    const csrf = cookie(CSRF_COOKIE);
    if (csrf) headers[CSRF_HEADER] = csrf;
  }
  let payload: string | URLSearchParams | undefined;
  if (body instanceof URLSearchParams) payload = body;
  else if (body !== undefined) {
    headers['Content-Type'] = 'application/json';
    payload = JSON.stringify(body);
  }
  let res: Response;
  try {
    res = await fetch(path.startsWith('/c/') ? path : API + path, { method, headers, body: payload, credentials: 'same-origin' });
  } catch {
    throw new ApiError(0, 'NETWORK', 'The registry could not be reached.');
  }
  if (!res.ok) throw await errorOf(res);
  return res;
}

async function errorOf(res: Response): Promise<ApiError> {
  let code = `HTTP_${res.status}`;
  let message = res.statusText || `The registry answered ${res.status}.`;
  try {
    const body = (await res.json()) as { errors?: Array<{ code?: string; message?: string }> };
    const first = body.errors?.[0];
    if (first?.code) code = first.code;
    if (first?.message) message = first.message;
  } catch {
    // Not Harbor's error body (a proxy's page): the status says enough.
  }
  if (res.status === 401) onUnauthorized?.();
  return new ApiError(res.status, code, message);
}

/** Called when a request finds the session gone (the app then shows the login page). */
let onUnauthorized: (() => void) | undefined;
export function whenUnauthorized(handler: () => void): void {
  onUnauthorized = handler;
}

export async function get<T>(path: string): Promise<T> {
  return (await (await call('GET', path)).json()) as T;
}

/** A page of a list, with the total from X-Total-Count. */
export async function list<T>(path: string, params: Record<string, string | number | boolean | undefined> = {}): Promise<Page<T>> {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== '') q.set(k, String(v));
  const res = await call('GET', q.size ? `${path}${path.includes('?') ? '&' : '?'}${q}` : path);
  const items = (await res.json()) as T[];
  return { items, total: Number(res.headers.get('X-Total-Count') ?? items.length) };
}

export async function send<T = void>(method: 'POST' | 'PUT' | 'PATCH' | 'DELETE', path: string, body?: Body): Promise<T> {
  const res = await call(method, path, body);
  const text = await res.text();
  return (text ? JSON.parse(text) : undefined) as T;
}

/** A response body as a file the browser saves (the pull-secret YAML). */
export async function download(method: 'POST', path: string, body: Body, filename: string): Promise<void> {
  const res = await call(method, path, body);
  const url = URL.createObjectURL(await res.blob());
  const a = document.createElement('a');
  a.href = url;
  a.download = filename;
  a.click();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

// Their bodies are read to the end although empty: a response left unread is cancelled later,
// which the browser reports as a failed request.
export async function login(principal: string, password: string): Promise<void> {
  await (await call('POST', '/c/login', new URLSearchParams({ principal, password }))).text();
}

/**
 * Whether the browser holds a session: the login sets the readable CSRF cookie next to the
 * session's (HttpOnly) one. Without it the UI shows the login page at once instead of asking the
 * API and getting a 401 (which the browser would log as an error).
 */
export function hasSession(): boolean {
  return cookie(CSRF_COOKIE) !== undefined && cookie(CSRF_COOKIE) !== '';
}

/**
 * The signed-in user and the system info, remembered for this session only (keyed by its CSRF
 * token, so another login or a logout never sees them): a page opened in a new tab draws at once
 * instead of waiting for two requests, and refreshes them behind. Nothing secret is kept.
 */
const REMEMBERED = 'minato.session';
export function rememberedSession<T>(): T | undefined {
  try {
    const saved = JSON.parse(localStorage.getItem(REMEMBERED) ?? 'null') as { csrf?: string; value?: T } | null;
    return saved && saved.csrf === cookie(CSRF_COOKIE) ? saved.value : undefined;
  } catch {
    return undefined;
  }
}
export function rememberSession(value: unknown): void {
  try {
    if (value === undefined) localStorage.removeItem(REMEMBERED);
    else localStorage.setItem(REMEMBERED, JSON.stringify({ csrf: cookie(CSRF_COOKIE), value }));
  } catch {
    // Storage refused (private mode, quota): the UI just asks every time.
  }
}

export async function logout(): Promise<void> {
  rememberSession(undefined);
  await (await call('GET', '/c/log_out')).text();
}

/** A repository name in a Harbor path: encoded twice, so a "/" in it survives routing. */
export function repoPath(project: string, repository: string): string {
  return `/projects/${encodeURIComponent(project)}/repositories/${encodeURIComponent(encodeURIComponent(repository))}`;
}

// The API's models, as far as the UI reads them (docs/api.md; /api/v2.0/openapi.json).
export interface User {
  user_id: number;
  username: string;
  email?: string;
  realname?: string;
  sysadmin_flag: boolean;
  admin_role_in_auth?: boolean;
  creation_time?: string;
}
export interface Project {
  project_id: number;
  name: string;
  owner_name?: string;
  creation_time: string;
  repo_count?: number;
  current_user_role_id?: number;
  metadata?: Record<string, string>;
}
export interface Quota {
  id: number;
  ref: { id: number; name: string };
  hard: { storage: number };
  used: { storage: number };
}
export interface Repository {
  id: number;
  name: string;
  description?: string;
  artifact_count: number;
  pull_count: number;
  update_time: string;
}
export interface Tag {
  name: string;
  push_time: string;
  pull_time: string;
}
export interface Platform {
  architecture?: string;
  os?: string;
  variant?: string;
}
export interface Artifact {
  type: string;
  media_type: string;
  manifest_media_type: string;
  artifact_type?: string;
  digest: string;
  size: number;
  push_time: string;
  pull_time: string;
  annotations?: Record<string, string>;
  references?: Array<{ child_digest: string; platform?: Platform }>;
  tags?: Tag[] | null;
  /** With tags_limit: how many tags it has (tags holds the first ones). */
  tag_count?: number;
  /** With with_scan_overview: the latest vulnerability report's summary, per report MIME type. */
  scan_overview?: Record<string, ScanSummary>;
}
export interface ScanSummary {
  scan_status: 'Pending' | 'Running' | 'Success' | 'Error' | 'Stopped';
  severity: string;
  summary?: { total: number; fixable: number; summary: Record<string, number> };
  complete_percent: number;
  end_time?: string;
}
export interface ArtifactSignatures {
  level: string;
  satisfied: boolean;
  message?: string;
  exempt?: string;
  signatures: Array<{ format: string; digest: string; location: string; verified: boolean; signer?: string; reason?: string; expires_at?: string; via_index?: string }>;
}
export interface Accessory {
  digest: string;
  type: string;
  size: number;
  creation_time: string;
}
export interface Member {
  id: number;
  entity_name: string;
  entity_type: string;
  role_id: number;
  role_name: string;
}
export interface RobotPermission {
  kind: 'project' | 'system';
  namespace: string;
  access: Array<{ resource: string; action: string }>;
}
export interface Robot {
  id: number;
  name: string;
  description?: string;
  disable: boolean;
  duration: number;
  expires_at: number;
  creation_time: string;
  last_used_time?: string;
  permissions: RobotPermission[];
}
export interface RobotCreated {
  id: number;
  name: string;
  secret: string;
  expires_at: number;
}
export interface AuditEntry {
  id: number;
  username: string;
  resource: string;
  resource_type: string;
  operation: string;
  operation_description?: string;
  operation_result?: boolean;
  op_time: string;
  client_address?: string;
}
export interface SystemInfo {
  registry_url?: string;
  external_url?: string;
  has_ca_root?: boolean;
  harbor_version?: string;
  project_creation_restriction?: string;
  with_certificate?: boolean;
  with_ddns?: boolean;
}

// CVE allowlists on the management API, as Harbor has them: the system's at
// `GET|PUT /system/CVEAllowlist` (any signed-in user reads it, as in Harbor, since it decides what
// their pulls get; only system admins change it), and a project's as `cve_allowlist` in the
// project body (project-routes.ts uses the model and the conversion here). Harbor's shape:
// `{id, project_id, expires_at (unix seconds, null: never), items: [{cve_id}], creation_time, update_time}`.
// Validation (no empty or whitespace ids, no duplicates) is the store's (scan/allowlist.ts): 400.
import { z } from 'zod';
import type { Actor } from '../events/events.js';
import type { Principal } from '../auth/policy.js';
import { SYSTEM_ALLOWLIST, type AllowlistStore, type CveAllowlist } from '../scan/allowlist.js';
import { access } from './access.js';
import { model } from './models.js';
import { defineRoute, respond, type ApiRoute } from './route.js';

export const CveAllowlistModel = model(
  'CVEAllowlist',
  z.object({
    id: z.number().int().optional().describe("The list's id (its project's id; 0 the system's)."),
    project_id: z.number().int().optional().describe('0: the system allowlist.'),
    expires_at: z.number().int().nullable().optional().describe('Unix seconds after which the whole list is ignored; null or absent: never.'),
    items: z.array(z.object({ cve_id: z.string().max(128).describe('A CVE (or GHSA...) id, without whitespace.') })).max(10_000).default([]),
    creation_time: z.string().optional(),
    update_time: z.string().optional(),
  }),
);

export type CveAllowlistBody = z.output<typeof CveAllowlistModel>;

/** Harbor's body as the store's list. */
export function allowlistFromBody(projectId: number, body: CveAllowlistBody): CveAllowlist {
  return { projectId, expiresAt: body.expires_at == null ? undefined : body.expires_at * 1000, items: body.items.map((i) => i.cve_id) };
}

/** The store's list as Harbor's body. */
export function allowlistBody(list: CveAllowlist): z.input<typeof CveAllowlistModel> {
  const iso = (ms: number | undefined) => new Date(ms ?? 0).toISOString();
  return {
    id: list.projectId,
    project_id: list.projectId,
    expires_at: list.expiresAt === undefined ? null : Math.floor(list.expiresAt / 1000),
    items: list.items.map((cve_id) => ({ cve_id })),
    creation_time: iso(list.createdAt),
    update_time: iso(list.updatedAt),
  };
}

export interface AllowlistRoutesDeps {
  allowlists: Pick<AllowlistStore, 'get' | 'put'>;
  actor(principal: Principal, address: string): Promise<Actor>;
}

export function allowlistRoutes(deps: AllowlistRoutesDeps): ApiRoute[] {
  const { allowlists } = deps;
  return [
    defineRoute({
      method: 'GET',
      path: '/system/CVEAllowlist',
      operationId: 'getSystemCVEAllowlist',
      summary: 'The system CVE allowlist',
      description: 'The CVEs the vulnerability gate ignores in every project that reuses the system allowlist (metadata reuse_sys_cve_allowlist not "false"), until it expires.',
      tag: 'SystemCVEAllowlist',
      access: access.signedIn(),
      responses: { 200: { description: 'The system allowlist.', schema: CveAllowlistModel } },
      handler: async () => respond(200, allowlistBody(await allowlists.get(SYSTEM_ALLOWLIST))),
    }),
    defineRoute({
      method: 'PUT',
      path: '/system/CVEAllowlist',
      operationId: 'putSystemCVEAllowlist',
      summary: 'Replace the system CVE allowlist',
      description: 'Every replica\'s gate applies it within the event poll interval (this one at once). An expired list is ignored entirely.',
      tag: 'SystemCVEAllowlist',
      access: access.system('configuration', 'update'),
      body: CveAllowlistModel,
      responses: { 200: { description: 'Replaced.' } },
      errors: [400],
      handler: async ({ body }, ctx) => {
        await allowlists.put(allowlistFromBody(SYSTEM_ALLOWLIST, body), await deps.actor(ctx.caller.principal, ctx.address));
        return respond(200, undefined);
      },
    }),
  ];
}

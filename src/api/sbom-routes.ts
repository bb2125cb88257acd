// SBOMs on the management API: `POST .../artifacts/{reference}/sbom?format=cyclonedx|spdx`
// generates one from the artifact's inventory and attaches it as an OCI 1.1 referrer (Harbor's
// sbom:create: project admins, maintainers, developers); `GET` the same path returns the newest
// document of that format (sbom:read). The referrer is also found through
// `/v2/<name>/referrers/<digest>?artifactType=application/vnd.cyclonedx+json` (or
// application/spdx+json). Handlers parse and respond; scan/sbom-artifacts.ts does the work.
import type { FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { Actor } from '../events/events.js';
import type { Principal } from '../auth/policy.js';
import type { SbomArtifacts } from '../scan/sbom-artifacts.js';
import { access, fromParam } from './access.js';
import { model } from './models.js';
import { artifactParams } from './repository-routes.js';
import { defineRoute, respond, type ApiRoute } from './route.js';

const formatQuery = z.object({ format: z.enum(['cyclonedx', 'spdx']).default('cyclonedx').describe('cyclonedx (CycloneDX 1.6 JSON) or spdx (SPDX 2.3 JSON).') });

const SbomAttached = model(
  'SbomAttached',
  z.object({
    digest: z.string().describe('The SBOM manifest (the referrer).'),
    subject: z.string().describe('The artifact it describes.'),
    media_type: z.string().describe('The artifactType: application/vnd.cyclonedx+json or application/spdx+json.'),
  }),
);

export interface SbomRoutesDeps {
  sboms: SbomArtifacts;
  actor(principal: Principal, address: string): Promise<Actor>;
  /** The registry's host as clients reach it (for the image's purl). */
  host(request: FastifyRequest): string;
}

export function sbomRoutes(deps: SbomRoutesDeps): ApiRoute[] {
  const path = '/projects/{project_name}/repositories/{repository_name}/artifacts/{reference}/sbom';
  const full = (p: { project_name: string; repository_name: string }) => `${p.project_name}/${p.repository_name}`;
  return [
    defineRoute({
      method: 'POST',
      path,
      operationId: 'generateSbom',
      summary: "Generate an artifact's SBOM (minato)",
      description: 'From the package inventory the built-in scanner stored for it (the artifact is scanned first when it has none and a scanner runs). Attached as an OCI 1.1 referrer, counted in the project quota like any push.',
      tag: 'scan',
      access: access.project('sbom', 'create', fromParam('project_name')),
      params: artifactParams,
      query: formatQuery,
      responses: { 201: { description: 'Generated and attached.', schema: SbomAttached } },
      errors: [404],
      handler: async ({ params, query }, ctx) => {
        const repository = full(params);
        const caller = {
          actor: await deps.actor(ctx.caller.principal, ctx.address),
          // sbom:create stands for the push it makes (as artifact:create does).
          grant: { principal: ctx.caller.principal, authorized: { type: 'repository' as const, name: repository, action: 'push' as const } },
        };
        const sbom = await deps.sboms.generate(caller, repository, params.reference, query.format, deps.host(ctx.request));
        return respond(201, { digest: sbom.digest, subject: sbom.subject, media_type: sbom.mediaType });
      },
    }),
    defineRoute({
      method: 'GET',
      path,
      operationId: 'getSbom',
      summary: "An artifact's newest SBOM document (minato)",
      tag: 'scan',
      access: access.project('sbom', 'read', fromParam('project_name')),
      params: artifactParams,
      query: formatQuery,
      responses: { 200: { description: 'The CycloneDX or SPDX JSON document.', schema: z.record(z.string(), z.unknown()) } },
      errors: [404],
      handler: async ({ params, query }) => {
        const sbom = await deps.sboms.read(full(params), params.reference, query.format);
        return respond(200, JSON.parse(sbom.document.toString('utf8')) as Record<string, unknown>);
      },
    }),
  ];
}

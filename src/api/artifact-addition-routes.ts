// Harbor's artifact "additions" (GET .../artifacts/{reference}/additions/{addition}): its
// build_history, and minato's layers and config, which the UI's artifact page shows (Harbor's UI
// reads the same from its extra_attrs). Handlers parse and respond; core/image-details.ts reads.
import { z } from 'zod';
import { notFound } from '../util/domain-error.js';
import type { ImageDetails } from '../core/image-details.js';
import { access, fromParam } from './access.js';
import { model } from './models.js';
import { artifactParams } from './repository-routes.js';
import { defineRoute, respond, type ApiRoute } from './route.js';

const Layer = model(
  'ArtifactLayer',
  z.object({ digest: z.string(), size: z.number().int().describe('Bytes (compressed, as stored).'), media_type: z.string() }).describe('minato: a layer of an image, in order.'),
);

const ImageConfig = model(
  'ArtifactImageConfig',
  z
    .object({
      architecture: z.string().optional(),
      os: z.string().optional(),
      variant: z.string().optional(),
      created: z.string().optional(),
      author: z.string().optional(),
      entrypoint: z.array(z.string()).optional(),
      cmd: z.array(z.string()).optional(),
      env: z.array(z.string()).optional(),
      labels: z.record(z.string(), z.string()).optional(),
      working_dir: z.string().optional(),
      user: z.string().optional(),
      exposed_ports: z.array(z.string()).optional(),
      history: z.array(z.object({ created: z.string().optional(), created_by: z.string().optional(), empty_layer: z.boolean().optional(), comment: z.string().optional() })).optional(),
    })
    .describe("minato: an image's configuration, the parts a person reads."),
);

const BuildHistory = z.array(z.object({ created: z.string().optional(), created_by: z.string().optional(), empty_layer: z.boolean().optional(), comment: z.string().optional() }));

export function artifactAdditionRoutes(deps: { details: ImageDetails }): ApiRoute[] {
  const { details } = deps;
  const base = '/projects/{project_name}/repositories/{repository_name}/artifacts/{reference}/additions';
  const rule = access.project('artifact', 'read', fromParam('project_name'));
  const full = (p: { project_name: string; repository_name: string }) => `${p.project_name}/${p.repository_name}`;

  return [
    defineRoute({
      method: 'GET',
      path: `${base}/layers`,
      operationId: 'getArtifactLayers',
      summary: "An image's layers (minato)",
      description: 'The layers of an image manifest with their sizes and media types, in order. An index answers 404: ask for one of its children by digest.',
      tag: 'artifact',
      access: rule,
      params: artifactParams,
      responses: { 200: { description: 'The layers.', schema: z.array(Layer) } },
      errors: [404],
      handler: async ({ params }) => respond(200, await details.layers(full(params), params.reference)),
    }),
    defineRoute({
      method: 'GET',
      path: `${base}/config`,
      operationId: 'getArtifactConfig',
      summary: "An image's configuration (minato)",
      description:
        "Entrypoint, command, environment, labels, working directory, user, created, platform and the build steps, from the image's config blob (at most 1 MiB). " +
        'An artifact whose config is not an image config (a signature, an SBOM) answers 404.',
      tag: 'artifact',
      access: rule,
      params: artifactParams,
      responses: { 200: { description: 'The configuration.', schema: ImageConfig } },
      errors: [400, 404],
      handler: async ({ params }) => {
        const config = await details.config(full(params), params.reference);
        if (!config) throw notFound(`${params.reference} is not an image: its config is not an image configuration`);
        return respond(200, config);
      },
    }),
    defineRoute({
      method: 'GET',
      path: `${base}/build_history`,
      operationId: 'getAddition',
      summary: "An image's build history (Harbor's build_history addition)",
      tag: 'artifact',
      access: rule,
      params: artifactParams,
      responses: { 200: { description: "The config's history, oldest step first.", schema: BuildHistory } },
      errors: [400, 404],
      handler: async ({ params }) => respond(200, (await details.config(full(params), params.reference))?.history ?? []),
    }),
  ];
}

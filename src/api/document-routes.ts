// GET /api/v2.0/openapi.json and /api/v2.0/swagger.json (where Harbor serves its own): the
// document of every operation, these two included. Public, as Harbor's is.
import { z } from 'zod';
import { access } from './access.js';
import type { OpenApiDocument } from './openapi.js';
import { defineRoute, respond, type ApiRoute } from './route.js';

const Document = z.record(z.string(), z.unknown()).describe('An OpenAPI 3.0 document.');

export function documentRoutes(document: () => OpenApiDocument): ApiRoute[] {
  const serve = (path: string, operationId: string, summary: string) =>
    defineRoute({
      method: 'GET',
      path,
      operationId,
      summary,
      tag: 'openapi',
      access: access.public(),
      responses: { 200: { description: 'The OpenAPI 3.0 document of this API.', schema: Document } },
      handler: async () => respond(200, document() as unknown as Record<string, unknown>),
    });
  return [
    serve('/openapi.json', 'getOpenApi', 'The OpenAPI document of the management API'),
    serve('/swagger.json', 'getSwagger', 'The OpenAPI document, where Harbor serves its swagger.json'),
  ];
}

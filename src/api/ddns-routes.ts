// GET /api/v2.0/ddns: what DDNS is doing (ddns.enabled): the names it keeps current, the host's
// addresses it found, the records it wrote, and its last failure. 404 when DDNS is off.
import { z } from 'zod';
import type { DdnsStatus } from '../dns/ddns.js';
import { access } from './access.js';
import { ApiError } from './errors.js';
import { model, timestamp } from './models.js';
import { defineRoute, respond, type ApiRoute } from './route.js';

const DdnsStatusModel = model(
  'DdnsStatus',
  z.object({
    provider: z.string().describe('The DNS provider that writes the records (rfc2136, route53, cloudflare, exec).'),
    names: z.array(z.string()).describe('The names kept pointing at this host.'),
    intervalSeconds: z.number().describe('How often the addresses are checked.'),
    lastCheck: timestamp.optional().describe('The last check, failed or not.'),
    addresses: z.object({ ipv6: z.string().optional(), ipv4: z.string().optional() }).describe("The host's addresses the last successful check found."),
    records: z.array(z.object({ name: z.string(), type: z.enum(['A', 'AAAA']), address: z.string() })).describe('The records written since the start.'),
    lastError: z.object({ message: z.string(), at: timestamp }).optional().describe('The last failure, kept until a check succeeds.'),
  }),
);

export function ddnsRoutes(ddns: { status(): DdnsStatus } | undefined): ApiRoute[] {
  return [
    defineRoute({
      method: 'GET',
      path: '/ddns',
      operationId: 'getDdnsStatus',
      summary: 'The status of DDNS',
      tag: 'ddns',
      access: access.signedIn(),
      responses: { 200: { description: 'Names, addresses, records written and the last failure.', schema: DdnsStatusModel } },
      errors: [404],
      handler: async () => {
        if (!ddns) throw new ApiError('NOT_FOUND', 'DDNS is off (ddns.enabled with a ddns.provider turns it on)');
        return respond(200, ddns.status());
      },
    }),
  ];
}

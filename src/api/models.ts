// Named models of the management API: zod schemas that appear in the OpenAPI document once, under
// components/schemas/<id>, and are referenced from every operation that uses them (Harbor's
// swagger names its models the same way: Errors, GeneralInfo, OverallHealthStatus, UserResp...).
// The registry is filled as the modules defining models are imported, and never changed after.
import { z } from 'zod';

/** Every named model, by the schema object (what api/openapi.ts turns into components). */
export const apiModels = z.registry<{ id: string }>();

/** Names `schema` as the model `id` (one id per schema; ids are Harbor's model names where it has one). */
export function model<T extends z.ZodType>(id: string, schema: T): T {
  apiModels.add(schema, { id });
  return schema;
}

export const ErrorModel = model(
  'Error',
  z.object({
    code: z.string().describe("Harbor's error code: BAD_REQUEST, UNAUTHORIZED, FORBIDDEN, NOT_FOUND, CONFLICT, PRECONDITION, ..."),
    message: z.string().describe('What went wrong, and what to do about it.'),
  }),
);

export const ErrorsModel = model('Errors', z.object({ errors: z.array(ErrorModel) }).describe('The body of every error response.'));

/** A time as Harbor's API writes them (RFC 3339, UTC). */
export const timestamp = z.iso.datetime();

// Path parameters as Harbor's API spells them. A repository name holds slashes, so Harbor's
// paths carry it URL-encoded twice ("a/b" -> "a%2Fb" -> "a%252Fb"): the router decodes once, the
// schema here decodes the second time. A name sent encoded once ("a%2Fb") arrives whole and is
// taken as it is. Both are checked against the OCI name grammar.
import { z } from 'zod';
import { isName, MAX_NAME_LENGTH } from '../oci/names.js';

/** Decodes the second layer of encoding; undefined when it is malformed ("%zz"). */
function decodeOnce(value: string): string | undefined {
  if (!value.includes('%')) return value;
  try {
    return decodeURIComponent(value);
  } catch {
    return undefined;
  }
}

/** A repository name inside a project (without the project's name), as in `/projects/{p}/repositories/{repository_name}`. */
export const repositoryNameParam = z
  .string()
  .max(MAX_NAME_LENGTH * 3)
  .transform((value, ctx) => {
    const name = decodeOnce(value);
    if (name === undefined || !isName(name)) {
      ctx.addIssue({
        code: 'custom',
        message: 'is not a repository name: lowercase components of [a-z0-9] separated by ".", "_", "__" or "-", joined by "/"; encode "/" as %252F (a/b -> a%252Fb)',
      });
      return z.NEVER;
    }
    return name;
  })
  .describe('The repository name without its project; a "/" in it is URL-encoded twice (a/b -> a%252Fb).');

/** Harbor's project names: ^[a-z0-9]+(?:[._-][a-z0-9]+)*$, 1 to 255 characters. */
export const PROJECT_NAME = /^[a-z0-9]+(?:[._-][a-z0-9]+)*$/;

export const projectNameParam = z
  .string()
  .min(1)
  .max(255)
  .regex(PROJECT_NAME, 'is not a project name: lowercase letters and digits, separated by single ".", "_" or "-"')
  .describe('The project name.');

/** A project by its name or its id (`project_name_or_id`; with X-Is-Resource-Name: true, always a name). */
export type ProjectRef = { name: string } | { id: number };

export const projectNameOrIdParam = z
  .string()
  .min(1)
  .max(255)
  .describe('The project name or id (send the header X-Is-Resource-Name: true when a name is all digits).');

/** The header that says a `project_name_or_id` is a name even when it is all digits (spread into a route's `headers`). */
export const isResourceNameHeader = {
  'X-Is-Resource-Name': z.enum(['true', 'false']).optional().describe('true: project_name_or_id is a name, even when it is all digits.'),
};

/** What `project_name_or_id` means: Harbor reads all digits as an id unless the header says it is a name. */
export function projectRef(value: string, isResourceName: 'true' | 'false' | undefined): ProjectRef {
  if (isResourceName !== 'true' && /^\d{1,10}$/.test(value)) return { id: Number(value) };
  return { name: value };
}

// Errors of the management use cases (projects, members, users, robots, quotas, audit): a stable
// code and a message a person can act on, no HTTP. The management API maps the codes to
// statuses in one table (api/errors.ts), the CLI prints the message. The registry's own errors
// are OciErrors (oci/errors.ts), mapped by registry/errors.ts for /v2 and by api/errors.ts here.
// A leaf (it imports nothing), in util/ so that auth/ and the stores below core/ can throw these
// without depending on core/.

export const DOMAIN_ERROR_CODES = [
  /** No such project, user, member, robot... */
  'NOT_FOUND',
  /** A name that is taken (a project, a user, a robot). */
  'ALREADY_EXISTS',
  /** The change contradicts the current state (deleting a project that still holds repositories). */
  'CONFLICT',
  /** The input itself is wrong (a name outside the grammar, a permission a robot may not hold). */
  'INVALID',
  /** The caller may not do this, whatever its input. */
  'FORBIDDEN',
  /** Not possible in this configuration or for this kind of principal (a robot asking for its user profile). */
  'PRECONDITION',
  /** Well-formed, but not acceptable (a password too weak). */
  'UNPROCESSABLE',
] as const;

export type DomainErrorCode = (typeof DOMAIN_ERROR_CODES)[number];

export class DomainError extends Error {
  constructor(
    readonly code: DomainErrorCode,
    message: string,
  ) {
    super(message);
  }
}

export const notFound = (message: string) => new DomainError('NOT_FOUND', message);
/** A name that is taken. */
export const alreadyExists = (message: string) => new DomainError('ALREADY_EXISTS', message);
export const invalid = (message: string) => new DomainError('INVALID', message);

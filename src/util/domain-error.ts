// Errors of the management layer's use cases (projects, members, robots, users, quotas) with a
// stable code and no HTTP status: each front end maps the codes to its own statuses in one table
// (the management API in api/errors.ts, the CLI to words and exit codes).

export type DomainErrorCode = 'not_found' | 'conflict' | 'invalid' | 'forbidden' | 'precondition';

export class DomainError extends Error {
  constructor(
    readonly code: DomainErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'DomainError';
  }
}

export const notFound = (message: string) => new DomainError('not_found', message);
export const conflict = (message: string) => new DomainError('conflict', message);
export const invalid = (message: string) => new DomainError('invalid', message);

// The registry's domain errors: a stable code from the OCI Distribution Specification v1.1
// ("Error Codes", plus the few Distribution adds) and a message a person can act on. No HTTP here:
// each front end maps codes to its statuses in one table (registry/errors.ts for /v2).

export const OCI_ERROR_CODES = [
  'BLOB_UNKNOWN',
  'BLOB_UPLOAD_INVALID',
  'BLOB_UPLOAD_UNKNOWN',
  'DIGEST_INVALID',
  'MANIFEST_BLOB_UNKNOWN',
  'MANIFEST_INVALID',
  'MANIFEST_UNKNOWN',
  'NAME_INVALID',
  'NAME_UNKNOWN',
  'SIZE_INVALID',
  'UNAUTHORIZED',
  'DENIED',
  'UNSUPPORTED',
  'TOOMANYREQUESTS',
  'PAGINATION_NUMBER_INVALID',
  'RANGE_INVALID',
  'TAG_INVALID',
  'MANIFEST_TOO_LARGE',
  'UNKNOWN',
] as const;

export type ErrorCode = (typeof OCI_ERROR_CODES)[number];

export class OciError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly detail?: unknown,
  ) {
    super(message);
  }
}

// The one table from a registry error code to its HTTP status, per the OCI Distribution
// Specification v1.1, section "Error Codes". Handlers throw RegistryError; the registry
// plugin's error handler writes the {"errors":[...]} envelope from this table.

import { OciError, type ErrorCode } from '../oci/errors.js';

export type { ErrorCode };

export const ERROR_STATUS: Record<ErrorCode, number> = {
  BLOB_UNKNOWN: 404,
  BLOB_UPLOAD_INVALID: 400,
  BLOB_UPLOAD_UNKNOWN: 404,
  DIGEST_INVALID: 400,
  MANIFEST_BLOB_UNKNOWN: 400,
  MANIFEST_INVALID: 400,
  MANIFEST_UNKNOWN: 404,
  NAME_INVALID: 400,
  NAME_UNKNOWN: 404,
  SIZE_INVALID: 400,
  UNAUTHORIZED: 401,
  DENIED: 403,
  UNSUPPORTED: 405,
  TOOMANYREQUESTS: 429,
  // Not in the spec's table but used by Distribution and understood by clients.
  PAGINATION_NUMBER_INVALID: 400,
  RANGE_INVALID: 416,
  TAG_INVALID: 400,
  MANIFEST_TOO_LARGE: 413,
  UNKNOWN: 500,
};

/** A domain error with what HTTP adds: a status other than the table's, and response headers. */
export class RegistryError extends OciError {
  readonly status: number;
  /** Extra response headers, e.g. Content-Range on a 416 or Range on an out-of-order chunk. */
  readonly headers: Record<string, string>;
  constructor(code: ErrorCode, message: string, detail?: unknown, opts: { status?: number; headers?: Record<string, string> } = {}) {
    super(code, message, detail);
    this.status = opts.status ?? ERROR_STATUS[code];
    this.headers = opts.headers ?? {};
  }
}

/** The JSON body every error response carries. MANIFEST_TOO_LARGE is sent as SIZE_INVALID. */
export function errorBody(err: OciError): string {
  const code = err.code === 'MANIFEST_TOO_LARGE' ? 'SIZE_INVALID' : err.code;
  const entry: Record<string, unknown> = { code, message: err.message };
  if (err.detail !== undefined) entry.detail = err.detail;
  return JSON.stringify({ errors: [entry] });
}

/** The HTTP form of a domain error (its status from the table). */
export function fromOciError(err: OciError): RegistryError {
  return err instanceof RegistryError ? err : new RegistryError(err.code, err.message, err.detail);
}

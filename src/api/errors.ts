// The one table of the management API's errors: Harbor's error codes and their HTTP statuses,
// and how every error a handler may meet becomes one. Handlers throw (an ApiError, a
// DomainError from core/, an OciError from the registry's use cases); the plugin's error handler
// writes Harbor's body, {"errors":[{"code":"NOT_FOUND","message":"..."}]}, from here.
import { DomainError, type DomainErrorCode } from '../util/domain-error.js';
import { MetadataUnavailableError } from '../metadata/metadata-store.js';
import { OciError, type ErrorCode as OciErrorCode } from '../oci/errors.js';
import { StorageUnavailableError } from '../storage/blob-store.js';

/** Harbor's codes (src/lib/errors/const.go, src/server/error) and the few HTTP adds, with their statuses. */
export const API_ERROR_STATUS = {
  BAD_REQUEST: 400,
  UNAUTHORIZED: 401,
  FORBIDDEN: 403,
  /** Harbor's code for a request a registry policy refused (quota, read-only). */
  DENIED: 403,
  NOT_FOUND: 404,
  METHOD_NOT_ALLOWED: 405,
  CONFLICT: 409,
  PRECONDITION: 412,
  PAYLOAD_TOO_LARGE: 413,
  UNSUPPORTED_MEDIA_TYPE: 415,
  UNPROCESSABLE_ENTITY: 422,
  TOO_MANY_REQUESTS: 429,
  INTERNAL_SERVER_ERROR: 500,
  SERVICE_UNAVAILABLE: 503,
} as const;

export type ApiErrorCode = keyof typeof API_ERROR_STATUS;

/** The statuses an error body can come with (what the OpenAPI document lists per operation). */
export type ErrorStatus = (typeof API_ERROR_STATUS)[ApiErrorCode];

/** An error with what HTTP adds: its code's status and response headers (Retry-After, WWW-Authenticate). */
export class ApiError extends Error {
  readonly status: number;
  constructor(
    readonly code: ApiErrorCode,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.status = API_ERROR_STATUS[code];
  }
}

const DOMAIN_CODES: Record<DomainErrorCode, ApiErrorCode> = {
  NOT_FOUND: 'NOT_FOUND',
  ALREADY_EXISTS: 'CONFLICT',
  CONFLICT: 'CONFLICT',
  INVALID: 'BAD_REQUEST',
  FORBIDDEN: 'FORBIDDEN',
  PRECONDITION: 'PRECONDITION',
  UNPROCESSABLE: 'UNPROCESSABLE_ENTITY',
};

/** The registry's codes as the management API reports them (an artifact the API asks for is missing: NOT_FOUND). */
const OCI_CODES: Record<OciErrorCode, ApiErrorCode> = {
  BLOB_UNKNOWN: 'NOT_FOUND',
  BLOB_UPLOAD_UNKNOWN: 'NOT_FOUND',
  MANIFEST_UNKNOWN: 'NOT_FOUND',
  NAME_UNKNOWN: 'NOT_FOUND',
  BLOB_UPLOAD_INVALID: 'BAD_REQUEST',
  DIGEST_INVALID: 'BAD_REQUEST',
  MANIFEST_BLOB_UNKNOWN: 'BAD_REQUEST',
  MANIFEST_INVALID: 'BAD_REQUEST',
  NAME_INVALID: 'BAD_REQUEST',
  SIZE_INVALID: 'BAD_REQUEST',
  PAGINATION_NUMBER_INVALID: 'BAD_REQUEST',
  RANGE_INVALID: 'BAD_REQUEST',
  TAG_INVALID: 'BAD_REQUEST',
  UNAUTHORIZED: 'UNAUTHORIZED',
  DENIED: 'DENIED',
  UNSUPPORTED: 'METHOD_NOT_ALLOWED',
  TOOMANYREQUESTS: 'TOO_MANY_REQUESTS',
  MANIFEST_TOO_LARGE: 'PAYLOAD_TOO_LARGE',
  UNKNOWN: 'INTERNAL_SERVER_ERROR',
};

/** Fastify's own 4xx errors (bodies it could not parse), by their codes. */
const FASTIFY_CODES: Record<string, ApiErrorCode> = {
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'UNSUPPORTED_MEDIA_TYPE',
  FST_ERR_CTP_BODY_TOO_LARGE: 'PAYLOAD_TOO_LARGE',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'BAD_REQUEST',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'BAD_REQUEST',
  FST_ERR_CTP_INVALID_JSON_BODY: 'BAD_REQUEST',
};

/** Seconds a client is asked to wait when the database or the storage is briefly unavailable. */
const UNAVAILABLE_RETRY_SECONDS = 5;

/** Any thrown value as the API error it is answered with; unknown errors are a 500 that says where to look. */
export function toApiError(err: unknown): ApiError {
  if (err instanceof ApiError) return err;
  if (err instanceof DomainError) return new ApiError(DOMAIN_CODES[err.code], err.message);
  if (err instanceof OciError) return new ApiError(OCI_CODES[err.code], err.message);
  if (err instanceof MetadataUnavailableError || err instanceof StorageUnavailableError) {
    return new ApiError('SERVICE_UNAVAILABLE', `${err.message}; nothing of this request was kept. Retry shortly`, { 'Retry-After': String(UNAVAILABLE_RETRY_SECONDS) });
  }
  const fastifyCode = FASTIFY_CODES[(err as { code?: string }).code ?? ''];
  if (fastifyCode) return new ApiError(fastifyCode, (err as Error).message);
  const status = (err as { statusCode?: number }).statusCode;
  if (status !== undefined && status >= 400 && status < 500) return new ApiError('BAD_REQUEST', (err as Error).message);
  return new ApiError('INTERNAL_SERVER_ERROR', 'internal server error; the registry log has the details (search it for this X-Request-Id)');
}

/** Harbor's error body. */
export function errorBody(err: ApiError): { errors: Array<{ code: string; message: string }> } {
  return { errors: [{ code: err.code, message: err.message }] };
}

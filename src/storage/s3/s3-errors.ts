// What the S3 SDK's failures mean for the blob store's callers: the contract's errors, with a
// message that says what went wrong and what to do about it. Callers never see an SDK error.
import { StorageFullError, StorageUnavailableError } from '../blob-store.js';

/** The parts of an SDK failure we look at (S3ServiceException, smithy and socket errors). */
interface SdkFailure {
  name?: string;
  code?: string;
  message?: string;
  $metadata?: { httpStatusCode?: number };
  Code?: string;
}

const NETWORK = new Set(['ECONNREFUSED', 'ECONNRESET', 'ENOTFOUND', 'EAI_AGAIN', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'EPIPE', 'ECONNABORTED']);
const CREDENTIALS = new Set(['InvalidAccessKeyId', 'SignatureDoesNotMatch', 'AccessDenied', 'InvalidToken', 'ExpiredToken', 'TokenRefreshRequired']);

function failure(err: unknown): SdkFailure {
  return (err ?? {}) as SdkFailure;
}

/** The HTTP status S3 answered with, if it answered. */
export function statusOf(err: unknown): number | undefined {
  return failure(err).$metadata?.httpStatusCode;
}

/** The S3 error code (NoSuchKey, NoSuchUpload, ...) or the SDK's error name. */
export function codeOf(err: unknown): string | undefined {
  const f = failure(err);
  return f.Code ?? f.name;
}

export function isNotFound(err: unknown): boolean {
  const code = codeOf(err);
  return code === 'NoSuchKey' || code === 'NotFound' || (statusOf(err) === 404 && code !== 'NoSuchBucket' && code !== 'NoSuchUpload');
}

export function isNoSuchUpload(err: unknown): boolean {
  return codeOf(err) === 'NoSuchUpload';
}

/**
 * The contract's error for a failure of a request to S3 that is not an expected "not found":
 * StorageFullError for a quota, StorageUnavailableError with the cause in words for the rest.
 */
export function storageError(err: unknown, where: { endpoint: string; bucket: string }): Error {
  if (err instanceof StorageUnavailableError || err instanceof StorageFullError) return err;
  const f = failure(err);
  const code = codeOf(err);
  const status = statusOf(err);
  // radosgw (and MinIO) answer 403 QuotaExceeded when a user or bucket quota is full.
  if (code === 'QuotaExceeded') return new StorageFullError({ code: 'QuotaExceeded', cause: err });
  let why: string;
  const net = f.code && NETWORK.has(f.code) ? f.code : NETWORK.has(String(code)) ? code : undefined;
  if (net || code === 'TimeoutError' || code === 'RequestTimeout') {
    why = `cannot reach ${where.endpoint} (${net ?? 'timed out'}): check storage.driver.endpoint and that the S3 service is up`;
  } else if (code === 'CredentialsProviderError') {
    why = 'no S3 credentials: set storage.driver.credentials, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (or a profile or role the AWS SDK finds)';
  } else if (code && CREDENTIALS.has(code)) {
    why = `${where.endpoint} refused the credentials for bucket ${where.bucket} (${code}): check storage.driver.credentials or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, and the user's access to the bucket`;
  } else if (status === 403) {
    why = `${where.endpoint} refused access to bucket ${where.bucket} (403${code && code !== 'Unknown' ? ` ${code}` : ''}): check the credentials and the bucket policy`;
  } else if (code === 'NoSuchBucket') {
    why = `bucket ${where.bucket} does not exist on ${where.endpoint}: create it (minato never creates buckets) or fix storage.driver.bucket`;
  } else if (code === 'PermanentRedirect' || code === 'AuthorizationHeaderMalformed' || status === 301) {
    why = `bucket ${where.bucket} is in another region than storage.driver.region (${code ?? status})`;
  } else if (code === 'XAmzContentSHA256Mismatch' || code === 'BadDigest') {
    why = `${where.endpoint} received other bytes than were sent (${code}): something on the way corrupted them; retry, and check the network or the proxy before S3`;
  } else if (status !== undefined && status >= 500) {
    why = `${where.endpoint} answered ${status}${code && code !== 'Unknown' ? ` ${code}` : ''}: the S3 service is failing or overloaded; retry later`;
  } else {
    why = `${code ?? 'error'}${status ? ` (HTTP ${status})` : ''}: ${f.message ?? String(err)}`;
  }
  return new StorageUnavailableError('s3', new Error(why, { cause: err }));
}

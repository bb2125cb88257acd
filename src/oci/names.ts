// Grammar of repository names, tags and digests (OCI Distribution Spec v1.1, "Pulling manifests"
// and the image-spec "Digests" section).
import { OciError } from './errors.js';

const COMPONENT = '[a-z0-9]+(?:(?:\\.|_|__|-+)[a-z0-9]+)*';
const NAME_RE = new RegExp(`^${COMPONENT}(?:/${COMPONENT})*$`);
const TAG_RE = /^[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}$/;
const DIGEST_RE = /^(sha256:[a-f0-9]{64}|sha512:[a-f0-9]{128})$/;
// Anything shaped like "<algorithm>:<encoded>" is a digest reference, even if it is not a valid one.
const DIGEST_SHAPE_RE = /^[a-z0-9]+(?:[+._-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$/;

/** Longest name Distribution accepts; keeps paths and index keys bounded. */
export const MAX_NAME_LENGTH = 255;

export type Digest = `sha256:${string}` | `sha512:${string}`;
export type DigestAlgorithm = 'sha256' | 'sha512';

/** Whether a repository name follows the spec's grammar (and our length bound). */
export function isName(name: string): boolean {
  return name.length > 0 && name.length <= MAX_NAME_LENGTH && NAME_RE.test(name);
}

export function assertName(name: string): void {
  if (!isName(name)) {
    throw new OciError('NAME_INVALID', `invalid repository name "${truncate(name)}"`, {
      rule: 'lowercase path components of [a-z0-9] joined by ".", "_", "__" or "-", separated by "/"',
    });
  }
}

/** The project a repository belongs to: the first path component of its name (`library/alpine` is in `library`, `alpine` in `alpine`). */
export function projectOf(repository: string): string {
  const slash = repository.indexOf('/');
  return slash < 0 ? repository : repository.slice(0, slash);
}

export function isTag(ref: string): boolean {
  return TAG_RE.test(ref);
}

export function isDigest(ref: string): ref is Digest {
  return DIGEST_RE.test(ref);
}

/** Throws DIGEST_INVALID for anything that is not a supported, well-formed digest. */
export function parseDigest(value: string | undefined): Digest {
  if (value === undefined || !isDigest(value)) {
    throw new OciError('DIGEST_INVALID', `invalid digest "${truncate(value ?? '')}"`, {
      supported: ['sha256', 'sha512'],
    });
  }
  return value;
}

export type Reference = { kind: 'tag'; tag: string } | { kind: 'digest'; digest: Digest };

/** A manifest reference is a tag or a digest; anything else is rejected with the matching code. */
export function parseReference(ref: string): Reference {
  if (isDigest(ref)) return { kind: 'digest', digest: ref };
  if (DIGEST_SHAPE_RE.test(ref)) parseDigest(ref); // throws DIGEST_INVALID
  if (isTag(ref)) return { kind: 'tag', tag: ref };
  throw new OciError('TAG_INVALID', `invalid tag "${truncate(ref)}"`, {
    rule: '[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}',
  });
}

export function digestAlgorithm(digest: Digest): DigestAlgorithm {
  return digest.startsWith('sha512:') ? 'sha512' : 'sha256';
}

function truncate(s: string): string {
  return s.length > 80 ? `${s.slice(0, 77)}...` : s;
}

// GET/PUT /extensions/v2/<name>/signatures/<digest>: the signatures API extension containers/image
// uses when a registry's /v2/ answer carries `X-Registry-Supports-Signatures: 1` (OpenShift's
// registry defined it; docker_image_src.go and docker_image_dest.go speak it). GET answers
// `{"signatures":[{"schemaVersion":2,"type":"atomic","name":"<digest>@<id>","content":"<base64>"}]}`;
// PUT takes one such signature object (what containers/image sends, one request per signature)
// or the list form, and answers 201. The registry plugin has authorized the request already
// (GET needs pull, PUT push); these handlers parse, call trust/simple-signing.ts, and respond.
import type { FastifyRequest } from 'fastify';
import { readBoundedBody, type Handler } from './context.js';
import { RegistryError } from './errors.js';

/** A PUT body larger than this is refused unread (a GPG signature is a few hundred bytes). */
export const MAX_SIGNATURE_BODY_BYTES = 256 * 1024;
/** At most this many signatures in one PUT of the list form. */
const MAX_SIGNATURES_PER_PUT = 16;

const SCHEMA_VERSION = 2;
const TYPE_ATOMIC = 'atomic';

export const getSignatures: Handler<'signatures'> = async (_request, reply, route, deps) => {
  const signatures = await deps.signatures!.list(route.name, route.digest);
  reply.code(200).header('Content-Type', 'application/json');
  await reply.send(
    JSON.stringify({ signatures: signatures.map((s) => ({ schemaVersion: SCHEMA_VERSION, type: TYPE_ATOMIC, name: s.name, content: s.content.toString('base64') })) }),
  );
};

export const putSignatures: Handler<'signatures'> = async (request, reply, route, deps) => {
  const signatures = parseSignatures(await readSignatureBody(request));
  await deps.signatures!.add(route.name, route.digest, signatures);
  reply.code(201).header('Content-Length', 0);
  await reply.send();
};

async function readSignatureBody(request: FastifyRequest): Promise<unknown> {
  const tooLarge = () => new RegistryError('SIZE_INVALID', `a signatures request may be at most ${MAX_SIGNATURE_BODY_BYTES} bytes`, { limit: MAX_SIGNATURE_BODY_BYTES }, { status: 413 });
  const body = await readBoundedBody(request, MAX_SIGNATURE_BODY_BYTES, tooLarge);
  try {
    return JSON.parse(body.toString('utf8'));
  } catch {
    throw invalid('the body is not JSON');
  }
}

/** The signatures of a PUT body: one signature object, or `{"signatures":[...]}`. */
function parseSignatures(body: unknown): Array<{ name?: string; content: Buffer }> {
  if (!isRecord(body)) throw invalid('the body must be a JSON object: a signature, or {"signatures":[...]}');
  const list = 'signatures' in body ? body.signatures : [body];
  if (!Array.isArray(list) || list.length === 0) throw invalid('"signatures" must be a non-empty array');
  if (list.length > MAX_SIGNATURES_PER_PUT) throw invalid(`at most ${MAX_SIGNATURES_PER_PUT} signatures per request`);
  return list.map((s, i) => {
    const where = list.length > 1 ? `signature ${i + 1}: ` : '';
    if (!isRecord(s)) throw invalid(`${where}must be an object with schemaVersion, type, name and content`);
    if (s.schemaVersion !== SCHEMA_VERSION) throw invalid(`${where}schemaVersion must be ${SCHEMA_VERSION}`);
    // OpenShift defaults a missing type to atomic; any other type is a format this registry does not store.
    if (s.type !== undefined && s.type !== TYPE_ATOMIC) throw invalid(`${where}type must be "${TYPE_ATOMIC}"`);
    if (s.name !== undefined && typeof s.name !== 'string') throw invalid(`${where}name must be a string`);
    if (typeof s.content !== 'string' || !/^[A-Za-z0-9+/]+={0,2}$/.test(s.content) || s.content.length % 4 !== 0) {
      throw invalid(`${where}content must be the signature's bytes in base64`);
    }
    return { name: s.name as string | undefined, content: Buffer.from(s.content, 'base64') };
  });
}

function invalid(message: string): RegistryError {
  return new RegistryError('UNSUPPORTED', `invalid signatures request: ${message}`, undefined, { status: 400 });
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

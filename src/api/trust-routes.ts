// A project's trust policy (minato; Harbor has only the enable_content_trust* flags):
// `GET|PUT /projects/{project_name}/trust`, `POST /projects/{project_name}/trust/keys` and
// `DELETE /projects/{project_name}/trust/keys/{key_name}`; an artifact's accessories in Harbor's
// shape (`GET .../artifacts/{reference}/accessories`, ListAccessories) and minato's
// `GET .../artifacts/{reference}/additions/signatures`: each signature's format, signer and
// verification under the project's policy. Who may: readers of the project's metadata read the
// policy, its admins (Harbor's `metadata` update) change it; artifact readers list signatures.
// Handlers parse and call trust/trust-cases.ts.
import { createHash } from 'node:crypto';
import { z } from 'zod';
import type { ProjectRecord } from '../auth/access-store.js';
import type { Projects } from '../core/projects.js';
import type { Repositories } from '../core/repositories.js';
import type { TrustCases, TrustPolicyView } from '../trust/trust-cases.js';
import { MAX_KEYS, MAX_PEM_BYTES, MAX_TRUSTED_ROOT_BYTES } from '../trust/trust-material.js';
import { TRUST_LEVELS } from '../trust/trust-policy-store.js';
import { access, fromParam } from './access.js';
import { model, timestamp } from './models.js';
import { projectNameParam } from './params.js';
import { artifactParams } from './repository-routes.js';
import { defineRoute, respond, type ApiContext, type ApiRoute } from './route.js';

const KeyName = z.string().min(1).max(64).describe("The key's name, shown as the signer: 1-64 letters, digits, '.', '_', '@' or '-'.");
const PublicKey = model('TrustPublicKey', z.object({ name: KeyName, pem: z.string().min(1).max(MAX_PEM_BYTES).describe('A PEM public key: ECDSA P-256 or P-384, RSA (2048 bits or more) or Ed25519.') }));
const Level = z.enum(TRUST_LEVELS).describe('off: nothing checked; audit: unsigned pulls recorded; warn: also logged; enforce: refused with 403.');

const TrustPolicyBody = model(
  'TrustPolicyReq',
  z
    .object({
      level: Level,
      public_keys: z.array(PublicKey).max(MAX_KEYS).default([]).describe('Keys cosign and sigstore-bundle signatures are verified with.'),
      notation: z
        .object({
          certificates: z.array(z.object({ name: KeyName, pem: z.string().min(1).max(MAX_PEM_BYTES), kind: z.enum(['ca', 'signingAuthority']).default('ca') })).max(MAX_KEYS).default([]),
          trusted_identities: z.array(z.string().min(1).max(1024)).max(64).default([]),
        })
        .default({ certificates: [], trusted_identities: [] })
        .describe('Notary Project: trust store certificates and trusted identities ("x509.subject: ..." or "*").'),
      gpg_keys: z.array(z.object({ name: KeyName, armored: z.string().min(1).max(MAX_PEM_BYTES * 4) })).max(MAX_KEYS).default([]).describe('Simple signing: armored OpenPGP public keys.'),
      keyless: z
        .object({
          trusted_root_json: z.string().max(MAX_TRUSTED_ROOT_BYTES).optional().describe("A sigstore trusted_root.json (Fulcio's certificates)."),
          identities: z.array(z.object({ issuer: z.string().min(1).max(1024), subject: z.string().min(1).max(1024).describe('The certificate SAN; /regex/ for a pattern.') })).max(64).default([]),
        })
        .default({ identities: [] }),
    })
    .describe("A project's trust policy as it is set: every part replaces what was there."),
);

const TrustPolicy = model(
  'TrustPolicy',
  z
    .object({
      level: Level,
      effective_level: Level.describe("What pulls are held to: the level, raised to enforce by Harbor's enable_content_trust* project metadata."),
      requirements: z.array(z.string()).describe('What a pull must carry, in words.'),
      version: z.number().int().describe('Bumped on every change; verification results are cached per version.'),
      update_time: timestamp.nullable(),
      public_keys: z.array(PublicKey),
      notation: z.object({ certificates: z.array(z.object({ name: z.string(), pem: z.string(), kind: z.enum(['ca', 'signingAuthority']) })), trusted_identities: z.array(z.string()) }),
      gpg_keys: z.array(z.object({ name: z.string(), armored: z.string() })),
      keyless: z.object({ trusted_root_json: z.string().optional(), identities: z.array(z.object({ issuer: z.string(), subject: z.string() })) }),
    })
    .describe("A project's trust policy: the level, and what it trusts."),
);

const Accessory = model(
  'Accessory',
  z
    .object({
      id: z.number().int().describe("minato: derived from the accessory's digest (stable)."),
      artifact_id: z.number().int().describe("The accessory's artifact id (as id)."),
      subject_artifact_id: z.number().int().describe("The subject's artifact id (derived from its digest)."),
      subject_artifact_repo: z.string(),
      subject_artifact_digest: z.string(),
      digest: z.string(),
      type: z.string().describe('signature.cosign, signature.notation, sbom.harbor or subject.accessory.'),
      size: z.number().int(),
      creation_time: timestamp,
    })
    .describe("Harbor's Accessory: a manifest attached to an artifact (a referrer, or cosign's .sig tag)."),
);

const Signature = model(
  'ArtifactSignature',
  z
    .object({
      format: z.enum(['cosign', 'sigstore-bundle', 'notation-jws', 'notation-cose', 'simple-signing']),
      digest: z.string().describe("The signature manifest's digest."),
      location: z.string().describe('Where it was found: referrer, tag sha256-….sig.'),
      verified: z.boolean(),
      signer: z.string().optional().describe('The trusted key or identity that verified it.'),
      reason: z.string().optional().describe('Why it does not count, when it does not.'),
      expires_at: z.string().optional(),
      via_index: z.string().optional().describe('Set when the signature is on an index over this artifact: that index.'),
    })
    .describe('minato: a signature of an artifact and its verification under the project policy.'),
);

const Signatures = model(
  'ArtifactSignatures',
  z.object({
    level: Level.describe('The effective level.'),
    policy_version: z.number().int(),
    satisfied: z.boolean().describe('Whether a pull meets the policy now.'),
    message: z.string().optional().describe('Why not (the 403 a pull gets under enforce).'),
    exempt: z.string().optional().describe('Why the artifact is never gated (it is a signature or an attestation).'),
    signatures: z.array(Signature),
  }),
);

const projectParams = z.object({ project_name: projectNameParam });
const keyParams = projectParams.extend({ key_name: KeyName });

/** A positive 48-bit integer from a digest (Harbor's ids are integers; minato has none for these). */
function idOf(digest: string): number {
  return parseInt(createHash('sha256').update(digest).digest('hex').slice(0, 12), 16);
}

function body(view: TrustPolicyView) {
  const m = view.material;
  return {
    level: view.level,
    effective_level: view.effectiveLevel,
    requirements: view.requirements,
    version: view.version,
    update_time: view.updatedAt === null ? null : new Date(view.updatedAt).toISOString(),
    public_keys: m.publicKeys,
    notation: { certificates: m.notation.certificates, trusted_identities: m.notation.trustedIdentities },
    gpg_keys: m.gpgKeys,
    keyless: { ...(m.keyless.trustedRootJson !== undefined ? { trusted_root_json: m.keyless.trustedRootJson } : {}), identities: m.keyless.identities },
  };
}

export interface TrustRoutesDeps {
  trust: TrustCases;
  projects: Projects;
  repositories: Repositories;
}

export function trustRoutes(deps: TrustRoutesDeps): ApiRoute[] {
  const { trust, projects, repositories } = deps;
  const find = (name: string): Promise<ProjectRecord> => projects.project(name);
  const actor = (ctx: ApiContext) => projects.actor(ctx.caller.principal, ctx.address);
  const project = fromParam('project_name');
  const full = (p: { project_name: string; repository_name: string }) => `${p.project_name}/${p.repository_name}`;

  return [
    defineRoute({
      method: 'GET',
      path: '/projects/{project_name}/trust',
      operationId: 'getTrustPolicy',
      summary: "A project's trust policy (minato)",
      tag: 'trust',
      access: access.project('project', 'read', project),
      params: projectParams,
      responses: { 200: { description: 'The policy (level off and nothing trusted when none was set).', schema: TrustPolicy } },
      errors: [404],
      handler: async ({ params }) => respond(200, body(await trust.view(await find(params.project_name)))),
    }),
    defineRoute({
      method: 'PUT',
      path: '/projects/{project_name}/trust',
      operationId: 'setTrustPolicy',
      summary: "Set a project's trust policy (minato)",
      description: 'Replaces the level and every part of the material. Applies to the next pull at once, on every replica within the event poll interval.',
      tag: 'trust',
      access: access.project('metadata', 'update', project),
      params: projectParams,
      body: TrustPolicyBody,
      responses: { 200: { description: 'The policy as stored.', schema: TrustPolicy } },
      errors: [404],
      handler: async ({ params, body: b }, ctx) => {
        const material = {
          publicKeys: b.public_keys,
          notation: { certificates: b.notation.certificates, trustedIdentities: b.notation.trusted_identities },
          gpgKeys: b.gpg_keys,
          keyless: { ...(b.keyless.trusted_root_json !== undefined ? { trustedRootJson: b.keyless.trusted_root_json } : {}), identities: b.keyless.identities },
        };
        return respond(200, body(await trust.set(await find(params.project_name), b.level, material, await actor(ctx))));
      },
    }),
    defineRoute({
      method: 'POST',
      path: '/projects/{project_name}/trust/keys',
      operationId: 'addTrustKey',
      summary: "Add a public key to a project's trust policy (minato)",
      tag: 'trust',
      access: access.project('metadata', 'update', project),
      params: projectParams,
      body: PublicKey,
      responses: { 201: { description: 'The policy with the key.', schema: TrustPolicy } },
      errors: [404, 409],
      handler: async ({ params, body: key }, ctx) => respond(201, body(await trust.addKey(await find(params.project_name), key, await actor(ctx)))),
    }),
    defineRoute({
      method: 'DELETE',
      path: '/projects/{project_name}/trust/keys/{key_name}',
      operationId: 'deleteTrustKey',
      summary: "Remove a public key from a project's trust policy (minato)",
      tag: 'trust',
      access: access.project('metadata', 'update', project),
      params: keyParams,
      responses: { 200: { description: 'The policy without the key.', schema: TrustPolicy } },
      errors: [404],
      handler: async ({ params }, ctx) => respond(200, body(await trust.removeKey(await find(params.project_name), params.key_name, await actor(ctx)))),
    }),
    defineRoute({
      method: 'GET',
      path: '/projects/{project_name}/repositories/{repository_name}/artifacts/{reference}/accessories',
      operationId: 'ListAccessories',
      summary: "An artifact's accessories: signatures, SBOMs, other referrers",
      tag: 'artifact',
      access: access.project('accessory', 'list', project),
      params: artifactParams,
      responses: { 200: { description: 'The accessories, oldest first.', schema: z.array(Accessory) } },
      errors: [404],
      handler: async ({ params }) => {
        const repository = full(params);
        const subject = await repositories.artifact(repository, params.reference);
        const list = await trust.accessories(repository, subject.digest);
        const out = [];
        for (const a of list) {
          const item = await repositories.artifact(repository, a.digest).catch(() => undefined);
          if (!item) continue;
          out.push({
            id: idOf(a.digest),
            artifact_id: idOf(a.digest),
            subject_artifact_id: idOf(subject.digest),
            subject_artifact_repo: repository,
            subject_artifact_digest: subject.digest,
            digest: a.digest,
            type: a.type,
            size: item.totalSize,
            creation_time: new Date(item.pushedAt).toISOString(),
          });
        }
        return respond(200, out);
      },
    }),
    defineRoute({
      method: 'GET',
      path: '/projects/{project_name}/repositories/{repository_name}/artifacts/{reference}/additions/signatures',
      operationId: 'getArtifactSignatures',
      summary: "An artifact's signatures and their verification (minato)",
      description: "Each signature found for the artifact (referrers, cosign's .sig tag, and those of the indexes over it), verified under the project's trust policy.",
      tag: 'artifact',
      access: access.project('artifact', 'read', project),
      params: artifactParams,
      responses: { 200: { description: 'The signatures.', schema: Signatures } },
      errors: [404],
      handler: async ({ params }) => {
        const repository = full(params);
        const subject = await repositories.artifact(repository, params.reference);
        const view = await trust.signatures(params.project_name, repository, subject.digest);
        return respond(200, {
          level: view.level,
          policy_version: view.version,
          satisfied: view.satisfied,
          ...(view.message !== undefined ? { message: view.message } : {}),
          ...(view.exempt !== undefined ? { exempt: view.exempt } : {}),
          signatures: view.signatures.map((s) => ({
            format: s.format,
            digest: s.digest,
            location: s.location,
            verified: s.result.verified,
            ...(s.result.signer !== undefined ? { signer: s.result.signer } : {}),
            ...(s.result.reason !== undefined ? { reason: s.result.reason } : {}),
            ...(s.result.expiresAt !== undefined ? { expires_at: s.result.expiresAt } : {}),
            ...(s.via !== undefined ? { via_index: s.via } : {}),
          })),
        });
      },
    }),
  ];
}

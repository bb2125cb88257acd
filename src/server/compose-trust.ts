// Composition of signatures (issue 15): the trust policy store and its snapshot, the signature
// sources and verifiers, the checks with their caches, the signature gate's deciders, and the
// replica-scoped sink that keeps every process's snapshot and caches right when another process
// changes a policy or pushes or deletes a signature.
//
// The sources: referrers and cosign tags (StoredSignatures), and the simple signatures skopeo and
// podman store through the signatures extension (SimpleSigningSource).
import type { Logger } from 'pino';
import type { EventBatcher } from '../events/event-batcher.js';
import type { EventSink, StoredEvent } from '../events/events.js';
import type { Db } from '../metadata/db.js';
import type { MetadataStore } from '../metadata/metadata-store.js';
import { signatureDeciders, type SignatureDeciders } from '../policy/signature.js';
import type { BlobStore } from '../storage/blob-store.js';
import { CosignVerifier } from '../trust/cosign-verifier.js';
import { SignatureChecks } from '../trust/signature-checks.js';
import { COSIGN_TAG, StoredSignatures } from '../trust/signature-sources.js';
import type { SignatureSource, SignatureVerifier } from '../trust/signatures.js';
import { SigstoreBundleVerifier } from '../trust/sigstore-bundle-verifier.js';
import { TrustPolicies } from '../trust/trust-policies.js';
import { TrustPolicyStore } from '../trust/trust-policy-store.js';
import { GpgVerifier } from '../trust/gpg-verifier.js';
import { NotationVerifier } from '../trust/notation-verifier.js';
import { SimpleSignatures, SimpleSigningSource } from '../trust/simple-signing.js';
import { SimpleSignatureStore } from '../trust/simple-signing-store.js';

/** Every verifier this server runs. */
const VERIFIERS: readonly SignatureVerifier[] = [new CosignVerifier(), new SigstoreBundleVerifier(), new NotationVerifier(), new GpgVerifier()];

export interface TrustCore {
  store: TrustPolicyStore;
  policies: TrustPolicies;
  checks: SignatureChecks;
  source: StoredSignatures;
  /** The signatures extension's logic (registry/simple-signing-routes.ts serves it). */
  simpleSignatures: SimpleSignatures;
  deciders: SignatureDeciders;
  /** Applies other processes' changes (policies, Harbor's project flags, signatures pushed or deleted). */
  sink: EventSink;
}

export interface TrustDeps {
  db: Db;
  meta: MetadataStore;
  blobs: BlobStore;
  events: EventBatcher;
  origin: string;
  /** The tags of a manifest (committed state): where a cosign `.sig` tag is looked for. */
  tagsOf(repository: string, digest: string): Promise<string[]>;
  log: Logger;
}

export async function composeTrust(deps: TrustDeps): Promise<TrustCore> {
  const { db, meta, blobs, log } = deps;
  const store = new TrustPolicyStore(db, deps.origin, (fn) => meta.outsideTransactions(fn));
  const policies = new TrustPolicies(store);
  const source = new StoredSignatures({ meta, blobs });
  const simpleStore = new SimpleSignatureStore(db, (fn) => meta.outsideTransactions(fn));
  const checks: SignatureChecks = new SignatureChecks({
    source: allOf([source, new SimpleSigningSource(simpleStore)]),
    verifiers: VERIFIERS,
    getManifest: (repository, digest) => meta.getManifest(repository, digest),
    parentsOf: (repository, digest) => store.parentsOf(repository, digest),
    tagsOf: deps.tagsOf,
    log,
  });
  policies.onMaterialChanged((project) => checks.dropProject(project));
  await policies.reload();
  store.onChange(() => policies.reload());
  const reload = () => policies.reload().catch((err: unknown) => log.error({ err }, 'could not reload the trust policies after a change elsewhere; the next change retries'));
  const sink: EventSink = {
    name: 'trust-invalidation',
    scope: 'replica',
    async deliver(batch: readonly StoredEvent[]) {
      let changed = false;
      for (const e of batch) {
        if ((e.type === 'trust-policy.changed' && e.origin !== store.origin) || e.type === 'project.changed') changed = true;
        else if (e.type === 'manifest.pushed' && e.subject !== undefined) checks.invalidate(e.repository);
        else if (e.type === 'manifest.deleted') checks.invalidate(e.repository);
        else if ((e.type === 'tag.updated' || e.type === 'tag.deleted') && COSIGN_TAG.test(e.tag)) checks.invalidate(e.repository);
      }
      if (changed) await reload();
    },
  };
  const deciders = signatureDeciders({ policies, checks, events: deps.events, log });
  // A simple signature stored here is seen by the next pull here (it writes no event: another
  // replica sees it once its cached verdict for the repository is dropped).
  const simpleSignatures = new SimpleSignatures(simpleStore, { maxPerManifest: 64, onAdded: (repository) => checks.invalidate(repository) });
  return { store, policies, checks, source, simpleSignatures, deciders, sink };
}

/** One source listing what each of these finds. */
function allOf(sources: readonly SignatureSource[]): SignatureSource {
  return { list: async (repository, subject) => (await Promise.all(sources.map((s) => s.list(repository, subject)))).flat() };
}

// Named policy points, asked by the use cases in core/ (never by HTTP handlers): before a blob is
// committed, before a manifest is stored, before a tag moves, before a pull is served, before a
// delete, before a mount. Each point runs a chain of small deciders; the first refusal wins. A
// refusal carries an OCI error code and a message a person can act on.
//
// Authorization is the first decider of every point (policy/authorization.ts), then quotas at
// blobCommit and manifestPut (policy/quota.ts); tag immutability and the signature and
// vulnerability gates join later, without touching handlers.
// Write points run inside the metadata transaction of the change (`tx`), so a decider that
// counts (a quota) sees and joins the same transaction as the write it allows.
import type { Grant } from '../auth/authenticator.js';
import type { Actor } from '../events/events.js';
import type { MetadataTx } from '../metadata/metadata-store.js';
import { OciError, type ErrorCode } from '../oci/errors.js';

/** Who asks: the actor of the events, and the credentials the request was authorized with. */
export interface Caller {
  actor: Actor;
  /** What the credentials allow (absent for the system: background jobs, the CLI). */
  grant?: Grant;
}

export interface PointContexts {
  blobCommit: { repository: string; digest: string; size: number };
  mount: { repository: string; digest: string; from: string };
  manifestPut: {
    repository: string;
    digest: string;
    mediaType: string;
    size: number;
    subject: string | null;
    tag?: string;
    /** The blobs it references, with the sizes its descriptors give (checked against the repository's). */
    blobs: ReadonlyArray<{ digest: string; size: number }>;
  };
  tagMove: { repository: string; tag: string; digest: string; previous?: string };
  pull: {
    repository: string;
    digest: string;
    kind: 'manifest' | 'blob';
    tag?: string;
    /** A manifest's media type and artifact type (else its config's media type), for gates that skip indexes or signatures. */
    mediaType?: string;
    artifactType?: string | null;
  };
  delete: { repository: string; kind: 'manifest' | 'tag' | 'blob'; digest?: string; tag?: string };
}

export type PolicyPoint = keyof PointContexts;

export type Verdict = { ok: true } | { ok: false; code: ErrorCode; message: string };

export const ALLOW: Verdict = { ok: true };

/** One small decision. Sync when it can be (a pull on the hot path costs no promise then). */
export interface Decider<P extends PolicyPoint> {
  readonly name: string;
  decide(caller: Caller, context: PointContexts[P], tx?: MetadataTx): Verdict | Promise<Verdict>;
}

export type DeciderChains = { [P in PolicyPoint]?: ReadonlyArray<Decider<P>> };

/** The refusal of a policy point, as the error a client sees. */
export class PolicyRefusal extends OciError {
  constructor(
    readonly point: PolicyPoint,
    readonly decider: string,
    code: ErrorCode,
    message: string,
  ) {
    super(code, message);
  }
}

export class Policies {
  constructor(private readonly chains: DeciderChains) {}

  /**
   * Runs the point's chain; throws PolicyRefusal on the first refusal. With an empty chain (or
   * only sync deciders that allow) it returns without creating a promise.
   */
  check<P extends PolicyPoint>(point: P, caller: Caller, context: PointContexts[P], tx?: MetadataTx): void | Promise<void> {
    const chain = this.chains[point] as ReadonlyArray<Decider<P>> | undefined;
    if (!chain) return;
    for (let i = 0; i < chain.length; i++) {
      const verdict = chain[i]!.decide(caller, context, tx);
      if (verdict instanceof Promise) return this.finish(point, chain, i, verdict, caller, context, tx);
      if (!verdict.ok) throw new PolicyRefusal(point, chain[i]!.name, verdict.code, verdict.message);
    }
  }

  private async finish<P extends PolicyPoint>(
    point: P,
    chain: ReadonlyArray<Decider<P>>,
    from: number,
    pending: Promise<Verdict>,
    caller: Caller,
    context: PointContexts[P],
    tx: MetadataTx | undefined,
  ): Promise<void> {
    for (let i = from; i < chain.length; i++) {
      const verdict = i === from ? await pending : await chain[i]!.decide(caller, context, tx);
      if (!verdict.ok) throw new PolicyRefusal(point, chain[i]!.name, verdict.code, verdict.message);
    }
  }
}

// The actor written into events: the caller with its principal's stable id (made on first sight).
import type { Actor } from '../events/events.js';
import type { MetadataStore } from '../metadata/metadata-store.js';
import type { Caller } from '../policy/policy.js';

export async function eventActor(meta: MetadataStore, caller: Caller): Promise<Actor> {
  const { actor } = caller;
  if (actor.id !== undefined || (actor.kind !== 'user' && actor.kind !== 'robot') || actor.name === undefined) return actor;
  return { kind: actor.kind, id: (await meta.principal(actor.kind, actor.name)).id, name: actor.name, address: actor.address };
}

// What the management API shows of a signed-in user (users/current): its stable id, and, for a
// user kept in the database, its profile columns. An htpasswd user has an id and nothing else.
import type { Db } from '../metadata/db.js';
import type { MetadataStore } from '../metadata/metadata-store.js';

/** What users/current shows of a user beyond its name (database users have a profile; htpasswd users only an id). */
export interface UserProfile {
  id: number;
  createdAt: number;
  updatedAt?: number;
  email?: string;
  realname?: string;
  comment?: string;
}

export function userProfiles(meta: Pick<MetadataStore, 'principal'>, db: Db | undefined): (name: string) => Promise<UserProfile> {
  return async (name) => {
    const principal = await meta.principal('user', name);
    const row = db && (await db.selectFrom('users').select(['created_at', 'updated_at', 'email', 'realname', 'comment']).where('name', '=', name).executeTakeFirst());
    return {
      id: principal.id,
      createdAt: row ? Number(row.created_at) : principal.createdAt,
      updatedAt: row ? Number(row.updated_at) : undefined,
      email: row?.email ?? undefined,
      realname: row?.realname ?? undefined,
      comment: row?.comment ?? undefined,
    };
  };
}

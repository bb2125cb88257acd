// Reads of users for the management API, with Kysely so that they run on SQLite and PostgreSQL:
// database users with their profiles, or, when users come from an htpasswd file, the user
// principals the registry has seen (an htpasswd user has an id from its first sign-in on and no
// profile). Lists take Harbor's q= filter, sort= and paging (metadata/list-query.ts).
import type { Db } from '../metadata/db.js';
import { filterSql, offsetOf, type Filter, type Page, type SortKey } from '../metadata/list-query.js';

export interface UserRecord {
  id: number;
  name: string;
  email: string;
  realname: string;
  comment: string;
  /** The flag in the users table (auth.admins are admins besides). */
  sysadmin: boolean;
  createdAt: number;
  updatedAt: number;
}

/** What users may be filtered by (q=) and their types. */
export const USER_FILTER_FIELDS = { username: 'string', email: 'string' } as const;
export type UserFilter = Filter<typeof USER_FILTER_FIELDS>;
export const USER_SORT_FIELDS = ['username', 'email', 'creation_time', 'user_id'] as const;
export type UserSortField = (typeof USER_SORT_FIELDS)[number];

const COLUMNS = { username: 'p.name', email: 'u.email' } as const;
const SORT_COLUMNS: Record<UserSortField, string> = { username: 'p.name', email: 'u.email', creation_time: 'p.created_at', user_id: 'p.id' };

export interface UserQuery {
  filter: UserFilter;
  sort: Array<SortKey<UserSortField>>;
  page: Page;
}

export class UserDirectory {
  /** `stored`: database users only (db_auth); otherwise every user principal seen (htpasswd). */
  constructor(
    private readonly db: Db,
    private readonly storedOnly: boolean,
  ) {}

  private base() {
    let q = this.db.selectFrom('principals as p').leftJoin('users as u', 'u.name', 'p.name').where('p.kind', '=', 'user');
    if (this.storedOnly) q = q.where('u.name', 'is not', null);
    return q;
  }

  async list(query: UserQuery): Promise<{ items: UserRecord[]; total: number }> {
    const where = this.base().where((eb) => filterSql(eb, query.filter, COLUMNS));
    const count = await where.select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
    let q = where.select(['p.id', 'p.name', 'p.created_at', 'u.email', 'u.realname', 'u.comment', 'u.sysadmin', 'u.created_at as user_created', 'u.updated_at']);
    for (const key of query.sort) q = q.orderBy(SORT_COLUMNS[key.field] as 'p.id', key.desc ? 'desc' : 'asc');
    const rows = await q.orderBy('p.id').limit(query.page.pageSize).offset(offsetOf(query.page)).execute();
    return { items: rows.map(toRecord), total: Number(count.n) };
  }

  async byId(id: number): Promise<UserRecord | undefined> {
    const row = await this.base()
      .where('p.id', '=', id)
      .select(['p.id', 'p.name', 'p.created_at', 'u.email', 'u.realname', 'u.comment', 'u.sysadmin', 'u.created_at as user_created', 'u.updated_at'])
      .executeTakeFirst();
    return row ? toRecord(row) : undefined;
  }
}

function toRecord(r: {
  id: number;
  name: string;
  created_at: number;
  email: string | null;
  realname: string | null;
  comment: string | null;
  sysadmin: number | null;
  user_created: number | null;
  updated_at: number | null;
}): UserRecord {
  const createdAt = Number(r.user_created ?? r.created_at);
  return {
    id: Number(r.id),
    name: r.name,
    email: r.email ?? '',
    realname: r.realname ?? '',
    comment: r.comment ?? '',
    sysadmin: Number(r.sysadmin ?? 0) === 1,
    createdAt,
    updatedAt: Number(r.updated_at ?? 0) || createdAt,
  };
}

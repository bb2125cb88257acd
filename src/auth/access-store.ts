// Projects, their members and robot accounts in the metadata database, with Kysely so that one
// implementation runs on SQLite and PostgreSQL. Every change writes its event to the outbox in the
// same transaction (with this process's origin), so every replica and the CLI's changes reach
// every process's access snapshot (auth/project-access.ts).
//
// Concurrency: changes are transactions; a unique name taken concurrently fails one of them with
// `conflict`. Cost: one transaction per change; `snapshot()` reads every project, member and
// robot (thousands of rows: milliseconds), which is done on start and after changes, not per
// request. Errors: DomainError (util/domain-error.ts) for what a caller got wrong; anything else
// is the database's.
import { randomUUID } from 'node:crypto';
import type { ExpressionBuilder, Kysely, Transaction } from 'kysely';
import { eventTime, type Actor, type RegistryEvent } from '../events/events.js';
import type { Db } from '../metadata/db.js';
import { directWrites, type WriteGate } from '../metadata/metadata-store.js';
import { appendToOutbox, isPostgres } from '../metadata/outbox.js';
import type { Database } from '../metadata/schema.js';
import { alreadyExists, DomainError, invalid, notFound } from '../util/domain-error.js';
import { isRoleId, type RoleId } from './rbac.js';

/** Harbor's project name rule (src/pkg/project/manager.go), 1 to 255 characters. */
export const PROJECT_NAME = /^[a-z0-9]+(?:[._-][a-z0-9]+)*$/;

export interface ProjectRecord {
  id: number;
  name: string;
  ownerId: number | null;
  public: boolean;
  /** Harbor's string-valued project metadata (`public` included, as "true"/"false"). */
  metadata: Record<string, string>;
  /** Bytes; -1 unlimited. */
  storageLimit: number;
  createdAt: number;
  updatedAt: number;
}

export interface MemberRecord {
  projectId: number;
  principalId: number;
  kind: 'user' | 'robot';
  name: string;
  roleId: RoleId;
  createdAt: number;
  updatedAt: number;
}

export interface RobotAccess {
  resource: string;
  action: string;
}

/** One entry of a robot's permission list (Harbor's RobotPermission). */
export interface RobotPermission {
  kind: 'system' | 'project';
  /** The project's name, or "*" (every project, existing and future) or "/" for the system entry. */
  namespace: string;
  access: RobotAccess[];
}

export interface RobotRecord {
  id: number;
  /** As stored: "<project>+<name>" or "<name>". */
  name: string;
  projectId: number;
  description: string;
  permissions: RobotPermission[];
  /** Days; -1 never. */
  duration: number;
  /** ms since the epoch; -1 never. */
  expiresAt: number;
  disabled: boolean;
  creatorId: number | null;
  createdAt: number;
  updatedAt: number;
  lastUsedAt: number | null;
  lastUsedFrom: string | null;
}

/** A robot with what checking its secret needs (never leaves auth/). */
export interface RobotCredentials extends RobotRecord {
  secretHash: string;
  previousSecretHash: string | null;
  previousSecretUntil: number | null;
}

export interface UserAccess {
  id: number;
  name: string;
  sysadmin: boolean;
  /** Whether the users table holds it (a database user); false for principals of htpasswd users and deleted users. */
  stored: boolean;
}

/** Everything access decisions need, read at once. */
export interface AccessData {
  projects: ProjectRecord[];
  members: MemberRecord[];
  robots: RobotRecord[];
  users: UserAccess[];
}

export interface NewProject {
  name: string;
  public: boolean;
  ownerId: number | null;
  metadata?: Record<string, string>;
  storageLimit?: number;
}

export interface NewRobot {
  name: string;
  projectId: number;
  description: string;
  secretHash: string;
  permissions: RobotPermission[];
  duration: number;
  expiresAt: number;
  disabled: boolean;
  creatorId: number | null;
}

type Trx = Kysely<Database>;

// Rows as the drivers return them (PostgreSQL gives bigint columns as strings): numbers made here.
export function projectRow(r: any): ProjectRecord {
  return {
    id: Number(r.id),
    name: r.name,
    ownerId: r.owner_id === null ? null : Number(r.owner_id),
    public: Number(r.public) === 1,
    metadata: JSON.parse(r.metadata) as Record<string, string>,
    storageLimit: Number(r.storage_limit),
    createdAt: Number(r.created_at),
    updatedAt: Number(r.updated_at),
  };
}

function robotRow(r: any): RobotCredentials {
  return {
    id: Number(r.id),
    name: r.name,
    projectId: Number(r.project_id),
    description: r.description,
    permissions: JSON.parse(r.permissions) as RobotPermission[],
    duration: Number(r.duration),
    expiresAt: Number(r.expires_at),
    disabled: Number(r.disabled) === 1,
    creatorId: r.creator_id === null ? null : Number(r.creator_id),
    createdAt: Number(r.created_at),
    updatedAt: Number(r.updated_at),
    lastUsedAt: r.last_used_at === null ? null : Number(r.last_used_at),
    lastUsedFrom: r.last_used_from,
    secretHash: r.secret_hash,
    previousSecretHash: r.previous_secret_hash,
    previousSecretUntil: r.previous_secret_until === null ? null : Number(r.previous_secret_until),
  };
}

/** Members with their principals' kind and name. */
export function memberQuery(db: Kysely<Database>) {
  return db
    .selectFrom('project_members as m')
    .innerJoin('principals as p', 'p.id', 'm.principal_id')
    .select(['m.project_id', 'm.principal_id', 'm.role_id', 'm.created_at', 'm.updated_at', 'p.kind', 'p.name']);
}

export function memberRow(m: { project_id: number; principal_id: number; role_id: number; created_at: number; updated_at: number; kind: string; name: string }): MemberRecord {
  return {
    projectId: Number(m.project_id),
    principalId: Number(m.principal_id),
    kind: m.kind as 'user' | 'robot',
    name: m.name,
    roleId: Number(m.role_id) as RoleId,
    createdAt: Number(m.created_at),
    updatedAt: Number(m.updated_at),
  };
}

/** Drops what only the secret check needs. */
export function publicRobot(r: RobotCredentials): RobotRecord {
  const { secretHash: _s, previousSecretHash: _p, previousSecretUntil: _u, ...rest } = r;
  return rest;
}

function isUniqueViolation(err: unknown): boolean {
  const e = err as { code?: string; message?: string };
  return e.code === '23505' || e.code === 'SQLITE_CONSTRAINT_UNIQUE' || e.code === 'SQLITE_CONSTRAINT_PRIMARYKEY' || /UNIQUE constraint/i.test(e.message ?? '');
}

/** Repository names in the project: the project's own name, or "project/..." ("/" + 1 is "0"). */
function inProjectRange(eb: ExpressionBuilder<Database, 'repositories'>, project: string) {
  return eb.or([eb('name', '=', project), eb.and([eb('name', '>=', `${project}/`), eb('name', '<', `${project}0`)])]);
}

/**
 * A repository counts while it holds an artifact: repository rows are never deleted (their ids
 * are cached), so one whose artifacts were all deleted (DELETE .../repositories/{r}) is gone.
 */
function holdsArtifacts(eb: ExpressionBuilder<Database, 'repositories'>) {
  return eb.exists(eb.selectFrom('manifests').select('manifests.digest').whereRef('manifests.repository_id', '=', 'repositories.id'));
}

/** A project's row, locked until the transaction ends (SQLite: its writers are serialised already). */
function lockedProject(trx: Trx, id: number) {
  const q = trx.selectFrom('projects').selectAll().where('id', '=', id);
  return (isPostgres(trx) ? q.forUpdate() : q).executeTakeFirst();
}

export class AccessStore {
  private readonly listeners: Array<() => void | Promise<void>> = [];

  /** `origin` names this process in the events it writes, so that it does not apply them twice. */
  constructor(
    private readonly db: Db,
    readonly origin: string = randomUUID(),
    private readonly writes: WriteGate = directWrites,
  ) {}

  private tx<T>(fn: (trx: Transaction<Database>) => Promise<T>): Promise<T> {
    return this.writes(() => this.db.transaction().execute(fn));
  }

  /** Called after every change this process committed; a change returns once its listeners are done (the snapshot has reloaded). */
  onChange(listener: () => void | Promise<void>): void {
    this.listeners.push(listener);
  }

  private async change<T>(fn: (trx: Transaction<Database>) => Promise<{ result: T; events: RegistryEvent[] }>): Promise<T> {
    let out: T;
    try {
      out = await this.tx(async (trx) => {
        const { result, events } = await fn(trx);
        await appendToOutbox(trx, events);
        return result;
      });
    } catch (err) {
      if (isUniqueViolation(err)) throw alreadyExists('it already exists');
      throw err;
    }
    await Promise.all(this.listeners.map((l) => l()));
    return out;
  }

  async snapshot(): Promise<AccessData> {
    const [projects, members, robots, users] = await Promise.all([
      this.db.selectFrom('projects').selectAll().execute(),
      memberQuery(this.db).execute(),
      this.db.selectFrom('robots').selectAll().execute(),
      this.db
        .selectFrom('principals as p')
        .leftJoin('users as u', 'u.name', 'p.name')
        .where('p.kind', '=', 'user')
        .select(['p.id', 'p.name', 'u.sysadmin', 'u.name as stored_name'])
        .execute(),
    ]);
    return {
      projects: projects.map(projectRow),
      members: members.map(memberRow),
      robots: robots.map((r) => publicRobot(robotRow(r))),
      users: users.map((u) => ({ id: Number(u.id), name: u.name, sysadmin: Number(u.sysadmin ?? 0) === 1, stored: u.stored_name !== null })),
    };
  }

  // --- projects ---

  async getProject(nameOrId: string | number): Promise<ProjectRecord | undefined> {
    const q = this.db.selectFrom('projects').selectAll();
    const row = await (typeof nameOrId === 'number' ? q.where('id', '=', nameOrId) : q.where('name', '=', nameOrId)).executeTakeFirst();
    return row ? projectRow(row) : undefined;
  }

  async createProject(p: NewProject, actor: Actor): Promise<ProjectRecord> {
    if (!PROJECT_NAME.test(p.name) || p.name.length > 255) {
      throw invalid(`"${p.name}" is not a valid project name: lowercase letters and digits, separated by single ".", "_" or "-" (at most 255 characters)`);
    }
    return this.change(async (trx) => {
      const now = Date.now();
      const metadata = { ...(p.metadata ?? {}), public: String(p.public) };
      const row = await trx
        .insertInto('projects')
        .values({ name: p.name, owner_id: p.ownerId, public: p.public ? 1 : 0, metadata: JSON.stringify(metadata), storage_limit: p.storageLimit ?? -1, created_at: now, updated_at: now })
        .returningAll()
        .executeTakeFirstOrThrow();
      const project = projectRow(row);
      // The creator administers what it created (Harbor adds the owner as Project Admin).
      if (p.ownerId !== null) {
        await trx.insertInto('project_members').values({ project_id: project.id, principal_id: p.ownerId, role_id: 1, created_at: now, updated_at: now }).execute();
      }
      return { result: project, events: [this.projectEvent(project, 'created', actor)] };
    });
  }

  /** Replaces the given metadata keys (`public` also sets the public flag). */
  async updateProject(id: number, changes: { metadata?: Record<string, string>; storageLimit?: number }, actor: Actor): Promise<ProjectRecord> {
    return this.change(async (trx) => {
      const current = await lockedProject(trx, id);
      if (!current) throw notFound(`project ${id} does not exist`);
      const metadata = { ...(JSON.parse(current.metadata) as Record<string, string>), ...(changes.metadata ?? {}) };
      const isPublic = metadata.public === 'true';
      metadata.public = String(isPublic);
      const row = await trx
        .updateTable('projects')
        .set({ metadata: JSON.stringify(metadata), public: isPublic ? 1 : 0, storage_limit: changes.storageLimit ?? Number(current.storage_limit), updated_at: Date.now() })
        .where('id', '=', id)
        .returningAll()
        .executeTakeFirstOrThrow();
      const project = projectRow(row);
      return { result: project, events: [this.projectEvent(project, 'updated', actor)] };
    });
  }

  /** Removes one metadata key (not `public`). */
  async deleteProjectMetadata(id: number, key: string, actor: Actor): Promise<ProjectRecord> {
    if (key === 'public') throw invalid('the "public" metadata cannot be deleted; set it to "false" instead');
    return this.change(async (trx) => {
      const current = await lockedProject(trx, id);
      if (!current) throw notFound(`project ${id} does not exist`);
      const metadata = JSON.parse(current.metadata) as Record<string, string>;
      if (!(key in metadata)) throw notFound(`project ${current.name} has no metadata "${key}"`);
      delete metadata[key];
      const row = await trx.updateTable('projects').set({ metadata: JSON.stringify(metadata), updated_at: Date.now() }).where('id', '=', id).returningAll().executeTakeFirstOrThrow();
      const project = projectRow(row);
      return { result: project, events: [this.projectEvent(project, 'updated', actor)] };
    });
  }

  /** How many repositories the project holds (a project with any cannot be deleted). */
  async repositoryCount(project: string): Promise<number> {
    const row = await this.db
      .selectFrom('repositories')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where((eb) => eb.and([inProjectRange(eb, project), holdsArtifacts(eb)]))
      .executeTakeFirstOrThrow();
    return Number(row.n);
  }

  /** Deletes an empty project with its members and robots. */
  async deleteProject(id: number, actor: Actor): Promise<void> {
    await this.change(async (trx) => {
      const row = await lockedProject(trx, id);
      if (!row) throw notFound(`project ${id} does not exist`);
      const project = projectRow(row);
      const repositories = await trx
        .selectFrom('repositories')
        .select('name')
        .where((eb) => eb.and([inProjectRange(eb, project.name), holdsArtifacts(eb)]))
        .limit(1)
        .executeTakeFirst();
      if (repositories) throw new DomainError('CONFLICT', `project ${project.name} still has repositories (${repositories.name}...); delete them first`);
      const robots = await trx.selectFrom('robots').select(['id', 'name']).where('project_id', '=', id).execute();
      await trx.deleteFrom('project_members').where('project_id', '=', id).execute();
      await trx.deleteFrom('robots').where('project_id', '=', id).execute();
      // A new project could get this id again (SQLite): it must not inherit the trust policy.
      await trx.deleteFrom('trust_policies').where('project_id', '=', id).execute();
      await trx.deleteFrom('projects').where('id', '=', id).execute();
      const events: RegistryEvent[] = [
        ...robots.map((r): RegistryEvent => ({ type: 'robot.changed', at: eventTime(), actor, robot: r.name, robotId: Number(r.id), project: project.name, change: 'deleted', origin: this.origin })),
        this.projectEvent(project, 'deleted', actor),
      ];
      return { result: undefined, events };
    });
  }

  private projectEvent(project: ProjectRecord, change: 'created' | 'updated' | 'deleted', actor: Actor): RegistryEvent {
    return { type: 'project.changed', at: eventTime(), actor, project: project.name, projectId: project.id, change, origin: this.origin };
  }

  // --- members ---

  async members(projectId: number): Promise<MemberRecord[]> {
    return (await this.snapshotMembers(this.db, projectId)).sort((a, b) => a.name.localeCompare(b.name));
  }

  private async snapshotMembers(db: Trx, projectId: number, principalId?: number): Promise<MemberRecord[]> {
    let q = memberQuery(db).where('m.project_id', '=', projectId);
    if (principalId !== undefined) q = q.where('m.principal_id', '=', principalId);
    return (await q.execute()).map(memberRow);
  }

  async setMember(project: ProjectRecord, principal: { id: number; name: string }, roleId: number, actor: Actor, mustBeNew = false): Promise<MemberRecord> {
    if (!isRoleId(roleId)) throw invalid(`role_id ${roleId} is not a role: 1 project admin, 2 developer, 3 guest, 4 maintainer, 5 limited guest`);
    return this.change(async (trx) => {
      const now = Date.now();
      const existing = await this.snapshotMembers(trx, project.id, principal.id);
      if (existing.length > 0 && mustBeNew) throw alreadyExists(`${principal.name} is already a member of ${project.name}`);
      if (existing.length > 0) {
        await trx.updateTable('project_members').set({ role_id: roleId, updated_at: now }).where('project_id', '=', project.id).where('principal_id', '=', principal.id).execute();
      } else {
        await trx.insertInto('project_members').values({ project_id: project.id, principal_id: principal.id, role_id: roleId, created_at: now, updated_at: now }).execute();
      }
      const [member] = await this.snapshotMembers(trx, project.id, principal.id);
      if (!member) throw new Error('the member just written is not there');
      const change = existing.length > 0 ? 'updated' : 'created';
      return {
        result: member,
        events: [{ type: 'member.changed', at: eventTime(), actor, project: project.name, projectId: project.id, member: principal.name, memberId: principal.id, role: roleId, change, origin: this.origin }],
      };
    });
  }

  async removeMember(project: ProjectRecord, principalId: number, actor: Actor): Promise<void> {
    await this.change(async (trx) => {
      const [member] = await this.snapshotMembers(trx, project.id, principalId);
      if (!member) throw notFound(`principal ${principalId} is not a member of ${project.name}`);
      await trx.deleteFrom('project_members').where('project_id', '=', project.id).where('principal_id', '=', principalId).execute();
      return {
        result: undefined,
        events: [{ type: 'member.changed', at: eventTime(), actor, project: project.name, projectId: project.id, member: member.name, memberId: principalId, change: 'deleted', origin: this.origin }],
      };
    });
  }

  // --- robots ---

  async robot(idOrName: number | string): Promise<RobotCredentials | undefined> {
    const q = this.db.selectFrom('robots').selectAll();
    const row = await (typeof idOrName === 'number' ? q.where('id', '=', idOrName) : q.where('name', '=', idOrName)).executeTakeFirst();
    return row ? robotRow(row) : undefined;
  }

  async robots(filter: { projectId?: number } = {}): Promise<RobotRecord[]> {
    let q = this.db.selectFrom('robots').selectAll().orderBy('id');
    if (filter.projectId !== undefined) q = q.where('project_id', '=', filter.projectId);
    return (await q.execute()).map((r) => publicRobot(robotRow(r)));
  }

  async createRobot(r: NewRobot, project: string | undefined, actor: Actor): Promise<RobotRecord> {
    return this.change(async (trx) => {
      const now = Date.now();
      const taken = await trx.selectFrom('robots').select('id').where('name', '=', r.name).executeTakeFirst();
      if (taken) throw alreadyExists(`a robot named ${r.name} already exists`);
      // A robot is a principal: audit rows and memberships refer to its id.
      await trx.deleteFrom('principals').where('kind', '=', 'robot').where('name', '=', r.name).execute();
      const principal = await trx.insertInto('principals').values({ kind: 'robot', name: r.name, created_at: now }).returning('id').executeTakeFirstOrThrow();
      const id = Number(principal.id);
      await trx
        .insertInto('robots')
        .values({
          id,
          name: r.name,
          project_id: r.projectId,
          description: r.description,
          secret_hash: r.secretHash,
          permissions: JSON.stringify(r.permissions),
          duration: r.duration,
          expires_at: r.expiresAt,
          disabled: r.disabled ? 1 : 0,
          creator_id: r.creatorId,
          created_at: now,
          updated_at: now,
        })
        .execute();
      const row = await trx.selectFrom('robots').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
      return { result: publicRobot(robotRow(row)), events: [this.robotEvent(id, r.name, project, 'created', actor)] };
    });
  }

  async updateRobot(
    id: number,
    changes: Partial<Pick<RobotRecord, 'description' | 'permissions' | 'duration' | 'expiresAt' | 'disabled'>>,
    project: string | undefined,
    actor: Actor,
  ): Promise<RobotRecord> {
    return this.change(async (trx) => {
      const current = await trx.selectFrom('robots').selectAll().where('id', '=', id).executeTakeFirst();
      if (!current) throw notFound(`robot ${id} does not exist`);
      await trx
        .updateTable('robots')
        .set({
          ...(changes.description !== undefined ? { description: changes.description } : {}),
          ...(changes.permissions !== undefined ? { permissions: JSON.stringify(changes.permissions) } : {}),
          ...(changes.duration !== undefined ? { duration: changes.duration } : {}),
          ...(changes.expiresAt !== undefined ? { expires_at: changes.expiresAt } : {}),
          ...(changes.disabled !== undefined ? { disabled: changes.disabled ? 1 : 0 } : {}),
          updated_at: Date.now(),
        })
        .where('id', '=', id)
        .execute();
      const row = await trx.selectFrom('robots').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
      return { result: publicRobot(robotRow(row)), events: [this.robotEvent(id, current.name, project, 'updated', actor)] };
    });
  }

  /** A new secret; the old one stays valid until `previousUntil` (ms since the epoch) when given. */
  async replaceSecret(id: number, secretHash: string, previousUntil: number | undefined, project: string | undefined, actor: Actor): Promise<void> {
    await this.change(async (trx) => {
      const current = await trx.selectFrom('robots').selectAll().where('id', '=', id).executeTakeFirst();
      if (!current) throw notFound(`robot ${id} does not exist`);
      await trx
        .updateTable('robots')
        .set({
          secret_hash: secretHash,
          previous_secret_hash: previousUntil !== undefined ? current.secret_hash : null,
          previous_secret_until: previousUntil ?? null,
          updated_at: Date.now(),
        })
        .where('id', '=', id)
        .execute();
      return { result: undefined, events: [this.robotEvent(id, current.name, project, 'secret', actor)] };
    });
  }

  async deleteRobot(id: number, project: string | undefined, actor: Actor): Promise<void> {
    await this.change(async (trx) => {
      const current = await trx.selectFrom('robots').select(['name']).where('id', '=', id).executeTakeFirst();
      if (!current) throw notFound(`robot ${id} does not exist`);
      await trx.deleteFrom('robots').where('id', '=', id).execute();
      await trx.deleteFrom('project_members').where('principal_id', '=', id).execute();
      return { result: undefined, events: [this.robotEvent(id, current.name, project, 'deleted', actor)] };
    });
  }

  /** When and from where a robot last signed in (no event: it changes no access). */
  async recordRobotUse(name: string, address: string): Promise<void> {
    await this.writes(() => this.db.updateTable('robots').set({ last_used_at: Date.now(), last_used_from: address }).where('name', '=', name).execute());
  }

  private robotEvent(id: number, name: string, project: string | undefined, change: 'created' | 'updated' | 'secret' | 'deleted', actor: Actor): RegistryEvent {
    return { type: 'robot.changed', at: eventTime(), actor, robot: name, robotId: id, ...(project !== undefined ? { project } : {}), change, origin: this.origin };
  }

  // --- users ---

  /** Sets or clears a database user's system admin flag. */
  async setSysadmin(user: string, sysadmin: boolean, actor: Actor): Promise<void> {
    await this.change(async (trx) => {
      const res = await trx.updateTable('users').set({ sysadmin: sysadmin ? 1 : 0, updated_at: Date.now() }).where('name', '=', user).executeTakeFirst();
      if (Number(res.numUpdatedRows) === 0) throw notFound(`no user named ${user}`);
      return { result: undefined, events: [{ type: 'user.changed', at: eventTime(), actor, user, change: 'updated', origin: this.origin }] };
    });
  }

  /** The stable id of a user or robot name (made on first sight for users, as htpasswd users have no row). */
  async principalId(kind: 'user' | 'robot', name: string): Promise<number> {
    const found = await this.db.selectFrom('principals').select('id').where('kind', '=', kind).where('name', '=', name).executeTakeFirst();
    if (found) return Number(found.id);
    if (kind === 'robot') throw notFound(`no robot named ${name}`);
    await this.writes(() => this.db.insertInto('principals').values({ kind, name, created_at: Date.now() }).onConflict((oc) => oc.columns(['kind', 'name']).doNothing()).execute());
    return Number((await this.db.selectFrom('principals').select('id').where('kind', '=', kind).where('name', '=', name).executeTakeFirstOrThrow()).id);
  }
}

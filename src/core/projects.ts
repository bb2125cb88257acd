// Projects, members and robot accounts as use cases: what the management API, the CLI and a first
// push (projects.autoCreate) call. They check the input (Harbor's rules), do the change through
// the access store (which writes its event in the same transaction) and return once this
// process's access snapshot shows it. Who may call them is decided before, by the front end's
// access rules (AccessControl).
import type { AccessStore, MemberRecord, ProjectRecord, RobotPermission, RobotRecord } from '../auth/access-store.js';
import type { Principal } from '../auth/policy.js';
import { isRoleId, robotMayHave } from '../auth/rbac.js';
import { ROBOT_PREFIX } from '../auth/robot-identity.js';
import { generateSecret, hashSecret, secretProblem } from '../auth/robot-secrets.js';
import type { Actor } from '../events/events.js';
import { DomainError, invalid, notFound } from '../util/domain-error.js';

/** Harbor's robot name rule (no "+", which separates the project). */
const ROBOT_NAME = /^[a-z0-9]+(?:[._-][a-z0-9]+)*$/;
const DAY_MS = 86_400_000;
/** Longest grace period a rotated secret may keep working. */
export const MAX_SECRET_GRACE_SECONDS = 30 * 86_400;

export interface ProjectsOptions {
  /** quota.defaultStorageLimit for new projects (bytes, -1 unlimited). */
  defaultStorageLimit: number;
}

export interface NewProjectRequest {
  name: string;
  public?: boolean;
  metadata?: Record<string, string>;
  storageLimit?: number;
}

export interface RobotRequest {
  name: string;
  description?: string;
  /** 'project': exactly one permission, of kind project; 'system': any. */
  level: 'system' | 'project';
  /** Days, -1 never. */
  duration: number;
  disable?: boolean;
  secret?: string;
  permissions: RobotPermission[];
}

export interface CreatedRobot {
  robot: RobotRecord;
  /** Shown once: only its hash is kept. */
  secret: string;
  /** The login name ("robot$..."). */
  loginName: string;
}

export class Projects {
  constructor(
    /** The store below (for reads the use cases do not wrap, such as listings). */
    readonly store: AccessStore,
    private readonly options: ProjectsOptions,
  ) {}

  /** The actor of events: the principal with its stable id. */
  async actor(principal: Principal, address?: string): Promise<Actor> {
    if (principal.user === null) return { kind: 'anonymous', ...(address ? { address } : {}) };
    const kind = principal.robot ? 'robot' : 'user';
    const name = principal.robot ? principal.user.slice(ROBOT_PREFIX.length) : principal.user;
    return { kind, id: await this.store.principalId(kind, name), name: principal.user, ...(address ? { address } : {}) };
  }

  async project(nameOrId: string | number): Promise<ProjectRecord> {
    const project = await this.store.getProject(nameOrId);
    if (!project) throw notFound(`project ${nameOrId} does not exist`);
    return project;
  }

  /** Creates a project; a user creator becomes its Project Admin. */
  async create(request: NewProjectRequest, creator: Principal, actor: Actor): Promise<ProjectRecord> {
    const metadata = { ...(request.metadata ?? {}) };
    const isPublic = request.public ?? metadata.public === 'true';
    const ownerId = creator.user !== null && !creator.robot && actor.id !== undefined ? actor.id : null;
    return this.store.createProject(
      { name: request.name, public: isPublic, ownerId, metadata, storageLimit: request.storageLimit ?? this.options.defaultStorageLimit },
      actor,
    );
  }

  /** A first push into a project that does not exist (projects.autoCreate): private, the pusher its admin. */
  async createForPush(name: string, pusher: Principal, address: string): Promise<void> {
    try {
      await this.create({ name }, pusher, await this.actor(pusher, address));
    } catch (err) {
      // Another request (or replica) made it first: that is what was wanted.
      if (!(err instanceof DomainError && err.code === 'ALREADY_EXISTS')) throw err;
    }
  }

  async update(project: ProjectRecord, changes: { public?: boolean; metadata?: Record<string, string>; storageLimit?: number }, actor: Actor): Promise<ProjectRecord> {
    const metadata = { ...(changes.metadata ?? {}), ...(changes.public !== undefined ? { public: String(changes.public) } : {}) };
    return this.store.updateProject(project.id, { metadata, storageLimit: changes.storageLimit }, actor);
  }

  async delete(project: ProjectRecord, actor: Actor): Promise<void> {
    await this.store.deleteProject(project.id, actor);
  }

  // --- members ---

  async addMember(project: ProjectRecord, user: string, roleId: number, actor: Actor): Promise<MemberRecord> {
    if (user.startsWith(ROBOT_PREFIX)) throw invalid('robot accounts are not project members: give the robot permissions instead');
    return this.store.setMember(project, { id: await this.store.principalId('user', user), name: user }, roleId, actor, true);
  }

  async updateMember(project: ProjectRecord, principalId: number, roleId: number, actor: Actor): Promise<MemberRecord> {
    const member = (await this.store.members(project.id)).find((m) => m.principalId === principalId);
    if (!member) throw notFound(`member ${principalId} is not in project ${project.name}`);
    return this.store.setMember(project, { id: principalId, name: member.name }, roleId, actor);
  }

  async removeMember(project: ProjectRecord, principalId: number, actor: Actor): Promise<void> {
    await this.store.removeMember(project, principalId, actor);
  }

  // --- robots ---

  /** Creates a robot account; its secret is returned once. */
  async createRobot(request: RobotRequest, creator: Actor): Promise<CreatedRobot> {
    if (!ROBOT_NAME.test(request.name) || request.name.length > 255) {
      throw invalid(`"${request.name}" is not a valid robot name: lowercase letters and digits, separated by single ".", "_" or "-"`);
    }
    const { project, permissions } = await this.checkPermissions(request.level, request.permissions);
    checkDuration(request.duration);
    if (request.secret !== undefined) {
      const problem = secretProblem(request.secret);
      if (problem) throw invalid(problem);
    }
    const secret = request.secret ?? generateSecret();
    const name = project ? `${project.name}+${request.name}` : request.name;
    const now = Date.now();
    const robot = await this.store.createRobot(
      {
        name,
        projectId: project?.id ?? 0,
        description: request.description ?? '',
        secretHash: await hashSecret(secret),
        permissions,
        duration: request.duration,
        expiresAt: request.duration === -1 ? -1 : now + request.duration * DAY_MS,
        disabled: request.disable ?? false,
        creatorId: creator.id ?? null,
      },
      project?.name,
      creator,
    );
    return { robot, secret, loginName: ROBOT_PREFIX + name };
  }

  async robot(id: number): Promise<RobotRecord> {
    const robot = await this.store.robot(id);
    if (!robot) throw notFound(`robot ${id} does not exist`);
    const { secretHash: _s, previousSecretHash: _p, previousSecretUntil: _u, ...rest } = robot;
    return rest;
  }

  /**
   * Changes a robot's description, permissions, duration (expiry recomputed from its creation, as
   * Harbor) or disabled flag. Name and level cannot change.
   */
  async updateRobot(robot: RobotRecord, changes: { description?: string; duration?: number; disable?: boolean; permissions?: RobotPermission[] }, actor: Actor): Promise<RobotRecord> {
    const level = robot.projectId === 0 ? 'system' : 'project';
    const permissions = changes.permissions && (await this.checkPermissions(level, changes.permissions)).permissions;
    if (changes.duration !== undefined) checkDuration(changes.duration);
    return this.store.updateRobot(
      robot.id,
      {
        description: changes.description,
        permissions,
        duration: changes.duration,
        expiresAt: changes.duration === undefined ? undefined : changes.duration === -1 ? -1 : robot.createdAt + changes.duration * DAY_MS,
        disabled: changes.disable,
      },
      await this.robotProject(robot),
      actor,
    );
  }

  /**
   * A new secret (generated, or the one given); the old one keeps working for `graceSeconds`
   * (0: at once), so a rotation needs no outage. Returns the new secret, shown once.
   */
  async refreshSecret(robot: RobotRecord, secret: string | undefined, graceSeconds: number, actor: Actor): Promise<string> {
    if (secret !== undefined && secret !== '') {
      const problem = secretProblem(secret);
      if (problem) throw invalid(problem);
    }
    if (!Number.isInteger(graceSeconds) || graceSeconds < 0 || graceSeconds > MAX_SECRET_GRACE_SECONDS) {
      throw invalid(`the grace period must be 0 to ${MAX_SECRET_GRACE_SECONDS} seconds`);
    }
    const fresh = secret || generateSecret();
    await this.store.replaceSecret(robot.id, await hashSecret(fresh), graceSeconds > 0 ? Date.now() + graceSeconds * 1000 : undefined, await this.robotProject(robot), actor);
    return fresh;
  }

  async deleteRobot(robot: RobotRecord, actor: Actor): Promise<void> {
    await this.store.deleteRobot(robot.id, await this.robotProject(robot), actor);
  }

  private async robotProject(robot: RobotRecord): Promise<string | undefined> {
    return robot.projectId === 0 ? undefined : (await this.store.getProject(robot.projectId))?.name;
  }

  /** Harbor's rules: a project robot has exactly one project permission, on an existing project; every pair is on the allow-list. */
  private async checkPermissions(level: 'system' | 'project', permissions: RobotPermission[]): Promise<{ project?: ProjectRecord; permissions: RobotPermission[] }> {
    if (level !== 'system' && level !== 'project') throw invalid(`level must be "system" or "project", not "${String(level)}"`);
    if (permissions.length === 0) throw invalid('a robot needs at least one permission');
    if (level === 'project' && (permissions.length !== 1 || permissions[0]?.kind !== 'project')) {
      throw invalid('a project robot has exactly one permission, of kind "project", naming its project');
    }
    let project: ProjectRecord | undefined;
    for (const p of permissions) {
      if (p.kind !== 'system' && p.kind !== 'project') throw invalid(`permission kind must be "system" or "project", not "${String(p.kind)}"`);
      if (p.kind === 'system' && level === 'project') throw invalid('a project robot cannot have system permissions');
      if (p.kind === 'project' && p.namespace !== '*') {
        const found = await this.store.getProject(p.namespace);
        if (!found) throw notFound(`project ${p.namespace} does not exist`);
        if (level === 'project') project = found;
      }
      if (p.kind === 'project' && p.namespace === '*' && level === 'project') throw invalid('a project robot names its project, not "*"');
      for (const a of p.access) {
        if (!robotMayHave(p.kind, a.resource, a.action)) throw invalid(`bad request permission: ${a.resource}:${a.action}`);
      }
    }
    const normalized = permissions.map((p) => ({ kind: p.kind, namespace: p.kind === 'system' ? '/' : p.namespace, access: p.access.map((a) => ({ resource: a.resource, action: a.action })) }));
    return { project, permissions: normalized };
  }
}

function checkDuration(duration: number): void {
  if (!Number.isInteger(duration) || (duration !== -1 && (duration <= 0 || duration >= 2 ** 31))) {
    throw invalid('duration is a number of days greater than 0, or -1 for never');
  }
}


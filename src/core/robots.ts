// Robot accounts as the management API and the CLI use them, over the robot use cases of
// core/projects.ts: who may list, see and change which robots (Harbor's rule: system robots take
// the system permission robot:<action>, a project's robots that permission in the project; a
// robot may refresh its own secret), the rule that a robot creating a robot gives it no more than
// it holds itself, listings by level and project, and pull secrets made from a secret the caller
// proves it knows (only the secret's hash is stored, so the registry cannot make one alone).
import { SCANNER_ROBOT_PREFIX } from '../policy/vulnerability.js';
import type { AccessControl } from '../auth/access-control.js';
import type { RobotPermission, RobotRecord } from '../auth/access-store.js';
import type { Principal } from '../auth/policy.js';
import { ROBOT_PREFIX } from '../auth/robot-identity.js';
import { verifySecret } from '../auth/robot-secrets.js';
import type { Actor } from '../events/events.js';
import { DomainError, notFound } from '../util/domain-error.js';
import type { CreatedRobot, Projects, RobotRequest } from './projects.js';
import { dockerConfig, imagePullSecret, secretNameFor } from './pull-secret.js';

export type RobotAction = 'create' | 'read' | 'list' | 'update' | 'delete';

export interface RobotCaller {
  principal: Principal;
  actor: Actor;
}

export interface RobotListing {
  level?: 'system' | 'project';
  projectId?: number;
}

const forbidden = (message: string) => new DomainError('FORBIDDEN', message);

export class RobotAccounts {
  constructor(
    private readonly projects: Projects,
    private readonly access: AccessControl,
  ) {}

  /** The decider: whether `principal` may do robot:`action` on robots of `project` (undefined: system robots). */
  allows(principal: Principal, project: string | undefined, action: RobotAction): boolean {
    return project === undefined ? this.access.canSystem(principal, 'robot', action) : this.access.can(principal, project, 'robot', action);
  }

  private async projectName(robot: Pick<RobotRecord, 'projectId'>): Promise<string | undefined> {
    if (robot.projectId === 0) return undefined;
    return (await this.projects.store.getProject(robot.projectId))?.name ?? `#${robot.projectId}`;
  }

  private async check(principal: Principal, robot: RobotRecord, action: RobotAction): Promise<void> {
    const project = await this.projectName(robot);
    if (this.allows(principal, project, action)) return;
    throw forbidden(`${principal.user} may not ${action} ${project === undefined ? 'system robots (this takes a system administrator)' : `the robots of project ${project} (this takes robot:${action} there: a project admin)`}`);
  }

  /** The robots the listing names, when the caller may list them. */
  async list(principal: Principal, listing: RobotListing): Promise<RobotRecord[]> {
    if (listing.level === 'project' && listing.projectId !== undefined) {
      const project = await this.projects.store.getProject(listing.projectId);
      if (!project || !this.allows(principal, project.name, 'list')) {
        if (this.access.isSysAdmin(principal) && !project) throw notFound(`project ${listing.projectId} does not exist`);
        throw forbidden(`${principal.user} may not list the robots of project ${listing.projectId}: this takes robot:list there (a project member)`);
      }
      return this.projects.store.robots({ projectId: project.id });
    }
    if (!this.allows(principal, undefined, 'list')) {
      throw forbidden(`${principal.user} may not list ${listing.level === 'system' ? 'system robots' : 'every robot'}: that takes a system administrator; a project's robots are listed with q=Level=project,ProjectID=<id>`);
    }
    const all = await this.projects.store.robots();
    if (listing.level === 'system') return all.filter((r) => r.projectId === 0);
    if (listing.level === 'project') return all.filter((r) => r.projectId !== 0);
    return all;
  }

  async get(principal: Principal, id: number): Promise<RobotRecord> {
    const robot = await this.projects.robot(id);
    await this.check(principal, robot, 'read');
    return robot;
  }

  /** A robot's project name, or undefined for a system robot. */
  projectOf(robot: RobotRecord): Promise<string | undefined> {
    return this.projectName(robot);
  }

  async create(caller: RobotCaller, request: RobotRequest): Promise<CreatedRobot> {
    const { principal } = caller;
    const project = request.level === 'project' ? request.permissions[0]?.namespace : undefined;
    if (request.level === 'project' && !project) throw new DomainError('INVALID', 'a project robot has exactly one permission, of kind "project", naming its project');
    // The registry's per-scan robots go unchecked by the vulnerability gate: nobody else may take their names.
    if (request.name.startsWith(SCANNER_ROBOT_PREFIX)) throw new DomainError('INVALID', `robot names starting with "${SCANNER_ROBOT_PREFIX}" are reserved for the registry's scanner credentials: choose another name`);
    if (!this.allows(principal, project, 'create')) {
      // As the API's project rules: an administrator learns that the project is missing; others get 403, which gives nothing away.
      if (project !== undefined && this.access.isSysAdmin(principal) && this.access.projectId(project) === undefined) throw notFound(`project ${project} does not exist`);
      throw forbidden(`${principal.user} may not create ${project === undefined ? 'system robots (this takes a system administrator)' : `robots in project ${project} (this takes robot:create there: a project admin)`}`);
    }
    if (principal.robot) await this.checkNarrower(principal.user!, request.permissions);
    return this.projects.createRobot(request, caller.actor);
  }

  /** Harbor's rule: a robot gives a robot only what it holds itself (a pair on "*" only from its own "*"). */
  private async checkNarrower(login: string, wanted: RobotPermission[]): Promise<void> {
    const creator = await this.projects.store.robot(login.slice(ROBOT_PREFIX.length));
    const own = creator?.permissions ?? [];
    const holds = (kind: string, namespace: string, resource: string, action: string) =>
      own.some((p) => p.kind === kind && (kind === 'system' || p.namespace === namespace || p.namespace === '*') && p.access.some((a) => a.resource === resource && a.action === action));
    for (const p of wanted) {
      for (const a of p.access) {
        if (!holds(p.kind, p.namespace, a.resource, a.action)) {
          throw forbidden(`${login} cannot give ${a.resource}:${a.action} ${p.kind === 'system' ? 'at system level' : `in ${p.namespace}`}: a robot may only create robots with permissions it holds itself`);
        }
      }
    }
  }

  async update(caller: RobotCaller, id: number, changes: Parameters<Projects['updateRobot']>[1]): Promise<RobotRecord> {
    const robot = await this.projects.robot(id);
    await this.check(caller.principal, robot, 'update');
    return this.projects.updateRobot(robot, changes, caller.actor);
  }

  /** A new secret (Harbor's PATCH); the robot itself may refresh its own. */
  async refresh(caller: RobotCaller, id: number, secret: string | undefined, graceSeconds: number): Promise<string> {
    const robot = await this.projects.robot(id);
    const self = caller.principal.robot && caller.principal.user === ROBOT_PREFIX + robot.name;
    if (!self) await this.check(caller.principal, robot, 'update');
    return this.projects.refreshSecret(robot, secret, graceSeconds, caller.actor);
  }

  async delete(caller: RobotCaller, id: number): Promise<void> {
    const robot = await this.projects.robot(id);
    await this.check(caller.principal, robot, 'delete');
    await this.projects.deleteRobot(robot, caller.actor);
  }

  /**
   * A docker config.json or a Kubernetes imagePullSecret for the robot, from its secret, which
   * the caller must give (and which must be the robot's current one: a pull secret that cannot
   * sign in helps nobody).
   */
  async pullSecret(principal: Principal, id: number, secret: string, out: { registry: string; format: 'dockerconfigjson' | 'kubernetes'; name?: string; namespace?: string }): Promise<Record<string, unknown>> {
    const robot = await this.get(principal, id);
    const stored = await this.projects.store.robot(id);
    if (!stored || !(await verifySecret(secret, stored.secretHash))) {
      throw forbidden(`that is not the current secret of ${ROBOT_PREFIX}${robot.name}; refresh it (PATCH /robots/${id}) if it is lost`);
    }
    const login = ROBOT_PREFIX + robot.name;
    if (out.format === 'dockerconfigjson') return dockerConfig(out.registry, login, secret) as unknown as Record<string, unknown>;
    try {
      return imagePullSecret(out.name ?? secretNameFor(login), out.registry, login, secret, out.namespace);
    } catch (err) {
      throw new DomainError('INVALID', (err as Error).message);
    }
  }
}

// Users as use cases: what the management API and the CLI call to list, create, change and delete
// users, set passwords and the system administrator flag. They check the input (Harbor's rules for
// names and passwords), make the change (which writes its `user.changed` event in the same
// transaction, so the audit log and every replica see it) and return once this process's access
// snapshot shows it. Who may call them is decided before (the API's access rules); the rules that
// depend on who is asked about (yourself or another user) are the deciders below.
import type { AccessStore } from '../auth/access-store.js';
import type { DatabaseUsers, UserProfileFields } from '../auth/database-users.js';
import type { Principal } from '../auth/policy.js';
import { ROBOT_PREFIX } from '../auth/robot-identity.js';
import type { UserDirectory, UserQuery, UserRecord } from '../auth/user-directory.js';
import type { Actor } from '../events/events.js';
import { DomainError, invalid, notFound } from '../util/domain-error.js';

/** Harbor's illegal characters in user names, and ":" (it ends the name in Basic credentials). */
const ILLEGAL_NAME_CHARS = /[,~#$%:\s\p{Cc}]/u;
const EMAIL = /^[^\s@]+@[^\s@]+$/;
const MAX_FIELD = 255;

/** Harbor's password rule: 8 to 128 characters with an uppercase letter, a lowercase letter and a digit. */
export function passwordProblem(password: string): string | undefined {
  if (password.length < 8 || password.length > 128 || !/[A-Z]/.test(password) || !/[a-z]/.test(password) || !/[0-9]/.test(password)) {
    return 'the password must be 8 to 128 characters long with at least one uppercase letter, one lowercase letter and one digit';
  }
  return undefined;
}

/** Why a user name is refused, or undefined. */
export function userNameProblem(name: string): string | undefined {
  if (name.startsWith(ROBOT_PREFIX)) return `user names cannot start with "${ROBOT_PREFIX}": that prefix is for robot accounts`;
  if (name.length < 1 || name.length > MAX_FIELD) return `a user name is 1 to ${MAX_FIELD} characters long`;
  if (ILLEGAL_NAME_CHARS.test(name)) return `"${name}" is not a valid user name: no spaces, control characters or any of , ~ # $ % :`;
  return undefined;
}

function checkProfile(p: UserProfileFields): void {
  for (const [field, value] of Object.entries(p)) {
    if (value !== undefined && value.length > MAX_FIELD) throw invalid(`${field} is at most ${MAX_FIELD} characters long`);
  }
  if (p.email !== undefined && p.email !== '' && !EMAIL.test(p.email)) throw invalid(`"${p.email}" is not an email address`);
}

export interface NewUser extends UserProfileFields {
  username: string;
  password: string;
}

/** Who is asking: the principal, whether it is a system administrator, and its event actor. */
export interface Asker {
  principal: Principal;
  admin: boolean;
  actor: Actor;
}

export interface UsersDeps {
  directory: UserDirectory;
  /** Absent when users come from an htpasswd file: then every change is refused with PRECONDITION. */
  users?: DatabaseUsers;
  store: Pick<AccessStore, 'setSysadmin'>;
}

const HTPASSWD =
  'users come from the htpasswd file (auth.htpasswd): add, change or remove them there (htpasswd -B FILE NAME); system administrators are named in auth.admins';

export class Users {
  constructor(private readonly deps: UsersDeps) {}

  list(query: UserQuery): Promise<{ items: UserRecord[]; total: number }> {
    return this.deps.directory.list(query);
  }

  async get(id: number): Promise<UserRecord> {
    const user = await this.deps.directory.byId(id);
    if (!user) throw notFound(`user ${id} does not exist`);
    return user;
  }

  /** Whether `asker` may read or change user `id`'s profile: itself, or a system administrator. */
  static maySee(asker: Asker, user: UserRecord): boolean {
    return asker.admin || (!asker.principal.robot && asker.principal.user === user.name);
  }

  /** The user, when `asker` may see it; a non-admin asking about someone else learns nothing (404 as for a missing id). */
  async visibleTo(asker: Asker, id: number): Promise<UserRecord> {
    const user = await this.deps.directory.byId(id);
    if (!user || !Users.maySee(asker, user)) throw notFound(`user ${id} does not exist${asker.admin ? '' : ' (or is not you: only administrators see other users)'}`);
    return user;
  }

  private writable(): DatabaseUsers {
    if (!this.deps.users) throw new DomainError('PRECONDITION', HTPASSWD);
    return this.deps.users;
  }

  async create(req: NewUser, actor: Actor): Promise<UserRecord> {
    const users = this.writable();
    const nameProblem = userNameProblem(req.username);
    if (nameProblem) throw invalid(nameProblem);
    const pwProblem = passwordProblem(req.password);
    if (pwProblem) throw invalid(pwProblem);
    const profile = { email: req.email, realname: req.realname, comment: req.comment };
    checkProfile(profile);
    const id = await users.createUser(req.username, req.password, profile, actor);
    return this.get(id);
  }

  async updateProfile(asker: Asker, id: number, profile: UserProfileFields): Promise<UserRecord> {
    const users = this.writable();
    const user = await this.visibleTo(asker, id);
    checkProfile(profile);
    await users.updateProfile(user.name, profile, asker.actor);
    return this.get(id);
  }

  async delete(asker: Asker, id: number): Promise<void> {
    const users = this.writable();
    const user = await this.get(id);
    if (user.name === asker.principal.user && !asker.principal.robot) throw new DomainError('FORBIDDEN', 'you cannot delete yourself: ask another administrator');
    await users.deleteUser(user.name, asker.actor);
  }

  /**
   * Sets a password. Yourself: the old password is needed (even for an administrator, so a
   * session left open cannot be used to take the account over); an administrator for another
   * user: no old password.
   */
  async changePassword(asker: Asker, id: number, oldPassword: string | undefined, newPassword: string): Promise<void> {
    const users = this.writable();
    const user = await this.visibleTo(asker, id);
    const self = asker.principal.user === user.name && !asker.principal.robot;
    if (self) {
      if (!oldPassword) throw invalid('old_password is needed to change your own password');
      if (!(await users.verify(user.name, oldPassword))) throw new DomainError('FORBIDDEN', 'the old password is wrong; nothing was changed');
      if (oldPassword === newPassword) throw invalid('the new password is the same as the old one');
    }
    const problem = passwordProblem(newPassword);
    if (problem) throw invalid(problem);
    await users.setPassword(user.name, newPassword, asker.actor);
  }

  /** Sets or clears the administrator flag; an administrator cannot take its own away (another must, so one always remains). */
  async setSysadmin(asker: Asker, id: number, sysadmin: boolean): Promise<void> {
    this.writable();
    const user = await this.get(id);
    if (!sysadmin && user.name === asker.principal.user && !asker.principal.robot) {
      throw new DomainError('FORBIDDEN', 'you cannot take your own administrator flag away: ask another administrator');
    }
    await this.deps.store.setSysadmin(user.name, sysadmin, asker.actor);
  }
}

// Robot accounts as an identity source: a login name "robot$<stored name>" and its secret (or,
// during a rotation's grace period, the previous secret). A disabled or expired robot signs in to
// nothing, with the right secret or a wrong one alike (Harbor). `Identities` puts robots and CLI
// tokens beside the user source (database or htpasswd) so the authenticator asks one provider.
import type { AccessStore } from './access-store.js';
import { isCliToken, type CliTokens } from './cli-tokens.js';
import type { IdentityProvider } from './identity.js';
import { hashSecret, verifySecret } from './robot-secrets.js';

/** Harbor's default robot name prefix (robot_name_prefix). */
export const ROBOT_PREFIX = 'robot$';

export function isRobotLogin(name: string): boolean {
  return name.startsWith(ROBOT_PREFIX);
}

/** A hash no secret is checked against on purpose: an unknown robot costs the time of a known one. */
const NO_ROBOT_HASH = hashSecret('no robot has this secret');

export class RobotIdentity implements IdentityProvider {
  private readonly listeners: Array<() => void> = [];

  constructor(private readonly store: AccessStore) {}

  async verify(login: string, secret: string): Promise<boolean> {
    const robot = isRobotLogin(login) ? await this.store.robot(login.slice(ROBOT_PREFIX.length)) : undefined;
    if (!robot) {
      await verifySecret(secret, await NO_ROBOT_HASH);
      return false;
    }
    const now = Date.now();
    if (robot.disabled || (robot.expiresAt !== -1 && robot.expiresAt <= now)) return false;
    if (await verifySecret(secret, robot.secretHash)) return true;
    return robot.previousSecretHash !== null && (robot.previousSecretUntil ?? 0) > now && verifySecret(secret, robot.previousSecretHash);
  }

  /** Robots changed (here or elsewhere): cached logins may be stale. */
  changed(): void {
    for (const l of this.listeners) l();
  }

  onChange(listener: () => void): void {
    this.listeners.push(listener);
  }

  close(): void {}
}

/** Robots by their prefix, CLI tokens by theirs, everyone else from the user source. */
export class Identities implements IdentityProvider {
  constructor(
    private readonly users: IdentityProvider,
    private readonly robots: RobotIdentity,
    private readonly cliTokens: CliTokens,
  ) {}

  verify(login: string, password: string): Promise<boolean> {
    if (isRobotLogin(login)) return this.robots.verify(login, password);
    return isCliToken(password) ? this.cliTokens.verify(login, password) : this.users.verify(login, password);
  }

  onChange(listener: () => void): void {
    for (const source of [this.users, this.robots, this.cliTokens]) source.onChange(listener);
  }

  close(): void {
    for (const source of [this.users, this.robots, this.cliTokens]) source.close();
  }
}

// The credential a scanner adapter pulls with, as Harbor issues it (src/pkg/scan/job.go): per
// scan, a robot of the artifact's project that may only pull, deleted when the scan ends. Its
// name has the reserved prefix the vulnerability gate recognises on every replica, so the scan's
// own pull is not gated (Harbor's `scanner-pull`; policy/vulnerability.ts SCANNER_ROBOT_PREFIX). Never an administrator's credential: a leaked one
// pulls from one project for at most the scan's length (and a day, its expiry, if a crash kept the
// release from running).
import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import type { Projects } from '../../core/projects.js';
import { SYSTEM_ACTOR } from '../../events/events.js';
import { projectOf } from '../../oci/names.js';
import { ROBOT_PREFIX } from '../../auth/robot-identity.js';
import type { ScanCredential, ScanCredentials } from './adapter-client.js';
import { SCANNER_ROBOT_PREFIX } from '../../policy/vulnerability.js';

export class RobotScanCredentials implements ScanCredentials {
  constructor(
    private readonly projects: Pick<Projects, 'createRobot' | 'deleteRobot'>,
    private readonly log: Logger,
  ) {}

  async issue(repository: string): Promise<ScanCredential> {
    const project = projectOf(repository);
    const { robot, secret } = await this.projects.createRobot(
      {
        name: `${SCANNER_ROBOT_PREFIX}${randomBytes(6).toString('hex')}`,
        description: `pulls ${repository} for one scan; deleted when it ends`,
        level: 'project',
        duration: 1,
        permissions: [{ kind: 'project', namespace: project, access: [{ resource: 'repository', action: 'pull' }] }],
      },
      SYSTEM_ACTOR,
    );
    const login = ROBOT_PREFIX + robot.name;
    return {
      authorization: `Basic ${Buffer.from(`${login}:${secret}`).toString('base64')}`,
      release: async () => {
        await this.projects.deleteRobot(robot, SYSTEM_ACTOR).catch((err: unknown) => this.log.warn({ err, robot: login }, 'could not delete the robot a scan pulled with; it expires within a day, or delete it under the project\'s robots'));
      },
    };
  }
}

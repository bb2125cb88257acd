// The scanner a scan runs on: the one the artifact's project chose (Harbor's
// `/projects/{p}/scanner`), else the default registration; the built-in scanner unless that is
// a registered adapter (a Trivy adapter, say), which is then called as Harbor calls it
// (adapter-client.ts) with a per-scan pull-only credential. One ArtifactScanner for the scan
// service, which need not know there are several.
import { projectOf } from '../../oci/names.js';
import type { ArtifactScanner, ScanResult } from '../inventory.js';
import { BUILTIN_SCANNER, type ScannerRegistration } from './registrations.js';

export interface ProjectScannersDeps {
  builtin: ArtifactScanner;
  /** The registration a project's scans use (ScannerRegistrations.ofProject by the project's id). */
  registrationOf(project: string): Promise<ScannerRegistration>;
  /** A client of a registered adapter. */
  adapter(registration: ScannerRegistration): ArtifactScanner;
}

export class ProjectScanners implements ArtifactScanner {
  constructor(private readonly deps: ProjectScannersDeps) {}

  /** What a report names before its scan ran (the built-in scanner; an adapter's report says its own once it is back). */
  get info(): ArtifactScanner['info'] {
    return this.deps.builtin.info;
  }

  async scan(target: { repository: string; digest: string; mediaType: string; tag?: string }, progress?: (fraction: number) => void): Promise<ScanResult> {
    const registration = await this.deps.registrationOf(projectOf(target.repository));
    if (registration.uuid === BUILTIN_SCANNER) return this.deps.builtin.scan(target, progress);
    if (registration.disabled) throw new Error(`the scanner ${registration.name} of project ${projectOf(target.repository)} is disabled: enable it, or choose another for the project`);
    return this.deps.adapter(registration).scan(target, progress);
  }
}

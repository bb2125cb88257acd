// Which operating system an image is: etc/os-release (or usr/lib/os-release, its usual symlink
// target), with etc/alpine-release and etc/debian_version for images that lack it. Also the
// mapping from that OS to OSV's ecosystem strings and to purl namespaces, which the distro
// package analyzers (dpkg, apk, rpm) share.
import type { Analyzer, AnalyzerResult, OsInfo } from './analyzer.js';
import type { ImageFiles } from '../layers.js';

const PATHS = ['etc/os-release', 'usr/lib/os-release', 'etc/alpine-release', 'etc/debian_version'];

/** os-release(5): KEY=value lines, values optionally quoted with shell-style escapes. */
export function parseOsRelease(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const eq = line.indexOf('=');
    if (eq <= 0) continue;
    let value = line.slice(eq + 1).trim();
    const quote = value[0];
    if ((quote === '"' || quote === "'") && value.endsWith(quote) && value.length >= 2) {
      value = value.slice(1, -1);
      if (quote === '"') value = value.replace(/\\(["\\$`])/g, '$1');
    }
    out.set(line.slice(0, eq).trim(), value);
  }
  return out;
}

export const osReleaseAnalyzer: Analyzer = {
  name: 'os-release',
  wants: (p) => PATHS.includes(p),
  analyze(files: ImageFiles): AnalyzerResult {
    const text = (p: string): string | undefined => files.files.get(p)?.data.toString('utf8');
    const release = text('etc/os-release') ?? text('usr/lib/os-release');
    if (release !== undefined) {
      const fields = parseOsRelease(release);
      const id = fields.get('ID')?.toLowerCase();
      if (id) {
        const os: OsInfo = { id, versionId: fields.get('VERSION_ID') ?? '' };
        const pretty = fields.get('PRETTY_NAME');
        if (pretty) os.prettyName = pretty;
        return { packages: [], warnings: [], os };
      }
    }
    const alpine = text('etc/alpine-release')?.trim();
    if (alpine) return { packages: [], warnings: [], os: { id: 'alpine', versionId: alpine } };
    const debian = text('etc/debian_version')?.trim();
    // "12.5" is a release; "trixie/sid" is testing or unstable, which has no version.
    if (debian) return { packages: [], warnings: [], os: { id: 'debian', versionId: /^\d/.test(debian) ? debian.split('.')[0]! : '' } };
    return { packages: [], warnings: [] };
  },
};

/**
 * OSV's ecosystem for an OS's distro packages (ossf/osv-schema's ecosystem list): `Debian:12`,
 * `Ubuntu:22.04:LTS`, `Alpine:v3.19`, `Red Hat`, `Rocky Linux`, `Wolfi`, …; `fallback` (the
 * family's bare name) when the image has no os-release or an OS OSV does not know.
 */
export function osvEcosystem(os: OsInfo | undefined, fallback: string): string {
  if (!os) return fallback;
  const v = os.versionId;
  switch (os.id) {
    case 'debian':
      return v ? `Debian:${v.split('.')[0]}` : 'Debian';
    case 'ubuntu':
      // OSV marks LTS releases: Ubuntu:22.04:LTS, but Ubuntu:23.10.
      return v ? `Ubuntu:${v}${/\bLTS\b/.test(os.prettyName ?? '') ? ':LTS' : ''}` : 'Ubuntu';
    case 'alpine': {
      const m = /^(\d+)\.(\d+)/.exec(v);
      return m ? `Alpine:v${m[1]}.${m[2]}` : 'Alpine';
    }
    case 'wolfi':
      return 'Wolfi';
    case 'chainguard':
      return 'Chainguard';
    case 'rhel':
    case 'centos':
      return 'Red Hat';
    case 'rocky':
      return 'Rocky Linux';
    case 'almalinux':
      return 'AlmaLinux';
    case 'opensuse-leap':
    case 'opensuse-tumbleweed':
    case 'opensuse':
      return 'openSUSE';
    case 'sles':
      return 'SUSE';
    case 'mariner':
    case 'azurelinux':
      return 'Azure Linux';
    case 'openeuler':
      return 'openEuler';
    case 'mageia':
      return 'Mageia';
    default:
      return fallback;
  }
}

/** purl's `distro` qualifier: `debian-12`, `alpine-3.19.1`, `rhel-9.3`. */
export function purlDistro(os: OsInfo | undefined): string | undefined {
  if (!os) return undefined;
  return os.versionId ? `${os.id}-${os.versionId}` : os.id;
}

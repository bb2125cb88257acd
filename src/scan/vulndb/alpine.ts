// Alpine's secdb (secdb.alpinelinux.org/v3.X/main.json, community.json) into the model. It lists
// fixes only: `packages[].pkg.secfixes` maps a fixed version to the CVEs it fixes, so every
// version below it is affected; "0" means the package never was. There is no data on unfixed
// CVEs. Keyed by origin (source) package; one record per CVE of the file, with an affected entry
// per package it names.
import { z } from 'zod';
import { normalizeEcosystem, type VulnRecord } from './model.js';

const secdbSchema = z.object({
  distroversion: z.string().regex(/^v?\d+\.\d+/, 'distroversion must look like v3.19'),
  reponame: z.string().optional(),
  packages: z.array(z.object({ pkg: z.object({ name: z.string(), secfixes: z.record(z.string(), z.array(z.string()).nullable()).nullish() }) })),
});

/** The records of one secdb file, or an Error saying why it is not one. */
export function alpineRecords(input: unknown, importedAt: string): VulnRecord[] | Error {
  const parsed = secdbSchema.safeParse(input);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    return new Error(`not an Alpine secdb file: ${issue ? `${issue.path.join('.') || '(top)'}: ${issue.message}` : 'invalid'}`);
  }
  const ecosystem = normalizeEcosystem(`Alpine:${parsed.data.distroversion}`);
  const source = `alpine:${ecosystem.slice('Alpine:'.length)}/${parsed.data.reponame ?? 'main'}`;
  const byId = new Map<string, VulnRecord>();
  for (const { pkg } of parsed.data.packages) {
    for (const [fixed, ids] of Object.entries(pkg.secfixes ?? {})) {
      if (fixed === '0') continue;
      // An entry may name several ids ("CVE-2021-1 CVE-2021-2", "CVE-2020-1 XSA-1"); the first part is the id.
      for (const id of (ids ?? []).flatMap((s) => s.split(/\s+/)).filter((s) => /^[A-Z]+-[\w.-]+$/.test(s))) {
        let record = byId.get(id);
        if (!record) {
          record = { source, key: id, id, modified: importedAt, aliases: [], links: [`https://security.alpinelinux.org/vuln/${id}`], affected: [] };
          byId.set(id, record);
        }
        record.affected.push({ ecosystem, package: pkg.name, ranges: [{ type: 'ECOSYSTEM', events: [{ introduced: '0' }, { fixed }] }], versions: [] });
      }
    }
  }
  return [...byId.values()];
}

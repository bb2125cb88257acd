// Python packages: what is installed (*.dist-info/METADATA, *.egg-info/PKG-INFO or an .egg-info
// file, as pip and Debian's python3-* packages leave them) and what a project pins
// (requirements*.txt lines `name==version`, poetry.lock's [[package]] tables). Names are kept as
// written; PyPI compares them normalised (PEP 503), which the purl does too.
import type { InventoryPackage } from '../inventory.js';
import type { ImageFile, ImageFiles } from '../layers.js';
import { filesFor, parseParagraphs, purl, type Analyzer, type AnalyzerResult } from './analyzer.js';

const METADATA = /(?:^|\/)[^/]+\.dist-info\/METADATA$|(?:^|\/)[^/]+\.egg-info\/PKG-INFO$|(?:^|\/)[^/]+\.egg-info$/;
const REQUIREMENTS = /(?:^|\/)requirements[^/]*\.txt$/;
const POETRY = /(?:^|\/)poetry\.lock$/;

export const pythonAnalyzer: Analyzer = {
  name: 'python',
  wants: (p) => METADATA.test(p) || REQUIREMENTS.test(p) || POETRY.test(p),
  analyze(files: ImageFiles): AnalyzerResult {
    const packages: InventoryPackage[] = [];
    const warnings: string[] = [];
    for (const file of filesFor(pythonAnalyzer, files)) {
      const text = file.data.toString('utf8');
      if (METADATA.test(file.path)) {
        const pkg = fromMetadata(text, file);
        if (pkg) packages.push(pkg);
        else warnings.push(`${file.path}: no Name or Version header; ignored`);
      } else if (POETRY.test(file.path)) {
        packages.push(...fromPoetryLock(text, file));
      } else {
        packages.push(...fromRequirements(text, file));
      }
    }
    return { packages, warnings };
  },
};

function pypi(name: string, version: string, file: ImageFile, licenses: string[] = []): InventoryPackage {
  return { ecosystem: 'PyPI', name, version, purl: purl('pypi', undefined, name, version), ...(licenses.length ? { licenses } : {}), layerDigest: file.layerDigest, path: file.path };
}

/** Core metadata (PEP 566/639): Name, Version; License-Expression, else License, else the license classifiers. */
function fromMetadata(text: string, file: ImageFile): InventoryPackage | undefined {
  const headers = parseParagraphs(text, true)[0];
  const name = headers?.get('name');
  const version = headers?.get('version');
  if (!headers || !name || !version) return undefined;
  const expression = headers.get('license-expression');
  const license = headers.get('license');
  const classifiers = (headers.get('classifier') ?? '')
    .split('\n')
    .filter((c) => c.startsWith('License ::'))
    .map((c) => c.split('::').pop()!.trim());
  const licenses = expression ? [expression] : license && license !== 'UNKNOWN' && !license.includes('\n') ? [license] : classifiers;
  return pypi(name, version, file, licenses);
}

/** Pinned lines only: `name==1.2` or `name[extra]===1.2 ; marker  # comment`; ranges say nothing installed. */
function fromRequirements(text: string, file: ImageFile): InventoryPackage[] {
  const out: InventoryPackage[] = [];
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.replace(/\s+#.*$/, '').replace(/^#.*$/, '').split(';')[0]!.trim();
    const m = /^([A-Za-z0-9][A-Za-z0-9._-]*)\s*(?:\[[^\]]*\])?\s*===?\s*([A-Za-z0-9][A-Za-z0-9._+!-]*)$/.exec(line);
    if (m) out.push(pypi(m[1]!, m[2]!, file));
  }
  return out;
}

/** poetry.lock: the `name` and `version` keys of each [[package]] table (no TOML parser needed for these). */
function fromPoetryLock(text: string, file: ImageFile): InventoryPackage[] {
  const out: InventoryPackage[] = [];
  let inPackage = false;
  let name: string | undefined;
  let version: string | undefined;
  const flush = (): void => {
    if (inPackage && name && version) out.push(pypi(name, version, file));
    name = version = undefined;
  };
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (line.startsWith('[')) {
      if (line === '[[package]]') {
        flush();
        inPackage = true;
      } else if (!line.startsWith('[package.')) {
        flush();
        inPackage = false;
      }
      continue;
    }
    const m = /^(name|version)\s*=\s*"([^"]*)"/.exec(line);
    if (!inPackage || !m) continue;
    if (m[1] === 'name' && name === undefined) name = m[2];
    if (m[1] === 'version' && version === undefined) version = m[2];
  }
  flush();
  return out;
}

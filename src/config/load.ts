// Builds the effective configuration: schema defaults < YAML file < MINATO_* environment < CLI flags.
import { readFile } from 'node:fs/promises';
import { parse as parseYaml, YAMLParseError } from 'yaml';
import { z } from 'zod';
import { configSchema, type Config } from './schema.js';

export class ConfigError extends Error {}

type Plain = Record<string, unknown>;

export interface LoadOptions {
  file?: string;
  env?: NodeJS.ProcessEnv;
  /** Values from command-line flags, as nested objects. */
  overrides?: Plain;
}

export async function loadConfig(opts: LoadOptions = {}): Promise<Config> {
  let fromFile: Plain = {};
  if (opts.file) {
    let text: string;
    try {
      text = await readFile(opts.file, 'utf8');
    } catch (err) {
      throw new ConfigError(`cannot read config file ${opts.file}: ${(err as Error).message}`);
    }
    try {
      const doc: unknown = parseYaml(text) ?? {};
      if (typeof doc !== 'object' || Array.isArray(doc)) throw new ConfigError(`config file ${opts.file}: expected a mapping at the top level`);
      fromFile = doc as Plain;
    } catch (err) {
      if (err instanceof ConfigError) throw err;
      const where = err instanceof YAMLParseError && err.linePos ? ` (line ${err.linePos[0].line}, column ${err.linePos[0].col})` : '';
      throw new ConfigError(`config file ${opts.file} is not valid YAML${where}: ${(err as Error).message.split('\n')[0]}`);
    }
  }
  const merged = deepMerge(deepMerge(fromFile, envOverrides(opts.env ?? process.env)), opts.overrides ?? {});
  return parseConfig(merged, opts.file);
}

export function parseConfig(input: unknown, source = 'configuration'): Config {
  const result = configSchema.safeParse(input);
  if (!result.success) {
    const lines = result.error.issues.map((i) => `  ${i.path.join('.') || '(top level)'}: ${issueMessage(i)}`);
    throw new ConfigError(`${source} is invalid:\n${lines.join('\n')}`);
  }
  const config = result.data;
  if (config.tls.mode === undefined) config.tls.mode = config.tls.cert && config.tls.key ? 'files' : 'off';
  if (config.tls.mode === 'acme' && config.tls.acme.names.length === 0) {
    throw new ConfigError(`${source} is invalid:\n  tls.acme.names: list the DNS names (and IPs) the certificate must cover`);
  }
  if (config.auth.challenge === 'bearer' && !config.auth.token.enabled) {
    throw new ConfigError(`${source} is invalid:\n  auth.challenge: "bearer" needs the token endpoint, but auth.token.enabled is false`);
  }
  if (config.audit.skipDatabase && config.audit.forward.file === undefined && config.audit.forward.syslog === undefined) {
    throw new ConfigError(`${source} is invalid:\n  audit.skipDatabase: the audit log would go nowhere; set audit.forward.file or audit.forward.syslog, or keep the database`);
  }
  if (config.tls.mode === 'files' && (!config.tls.cert || !config.tls.key)) {
    throw new ConfigError(`${source} is invalid:\n  tls: mode "files" needs both tls.cert and tls.key`);
  }
  return config;
}

/** An unknown key is refused rather than ignored (a typo would silently leave a default), with the nearest known key. */
function issueMessage(issue: z.core.$ZodIssue): string {
  if (issue.code !== 'unrecognized_keys') return issue.message;
  const siblings = new Set(
    configKeys()
      .filter((k) => k.path.length > issue.path.length && issue.path.every((p, i) => k.path[i] === p))
      .map((k) => k.path[issue.path.length]!),
  );
  return issue.keys
    .map((key) => {
      const near = [...siblings].filter((known) => editDistance(key.toLowerCase(), known.toLowerCase()) <= 2);
      return `unknown key "${key}"${near.length ? ` (did you mean "${near[0]}"?)` : ''}`;
    })
    .join('; ');
}

function editDistance(a: string, b: string): number {
  let row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const next = [i];
    for (let j = 1; j <= b.length; j++) next[j] = Math.min(row[j]! + 1, next[j - 1]! + 1, row[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    row = next;
  }
  return row[b.length]!;
}

/** One entry per leaf of the schema: its path, its MINATO_* name, its type and documentation. */
export interface ConfigKey {
  path: string[];
  /** The MINATO_* variable; empty for a key inside a union member (set within its parent's JSON). */
  env: string;
  type: 'string' | 'number' | 'boolean' | 'string[]' | 'enum' | 'json' | 'map';
  values?: string[];
  defaultValue: unknown;
  /** Whether the key may be left out (it has a default or is optional). */
  optional: boolean;
  description: string;
  /** For an object of several shapes chosen by one key (a DNS provider's `kind`): every shape. */
  union?: ConfigUnion;
}

export interface ConfigUnion {
  /** The union's own description, the title of its section in the docs. */
  title: string;
  discriminator: string;
  members: Array<{ value: string; description: string; keys: ConfigKey[] }>;
  /** The schema itself: keys that share one union (tls.acme.dns, ddns.provider) are documented once. */
  schema: z.ZodType;
}

export function configKeys(): ConfigKey[] {
  const out: ConfigKey[] = [];
  walk(configSchema, [], out, true);
  return out;
}

function walk(schema: z.ZodType, path: string[], out: ConfigKey[], withEnv: boolean): void {
  let s: z.ZodType = schema;
  let defaultValue: unknown;
  let optional = false;
  const description = s.description ?? '';
  // Unwrap default/optional/prefault wrappers to reach the value type.
  for (;;) {
    const def = (s as unknown as { _zod: { def: { type: string; innerType?: z.ZodType; defaultValue?: unknown } } })._zod.def;
    if (def.type === 'default') defaultValue = def.defaultValue;
    if ((def.type === 'default' || def.type === 'optional' || def.type === 'prefault') && def.innerType) {
      optional = true;
      s = def.innerType;
      continue;
    }
    break;
  }
  if (s instanceof z.ZodObject) {
    for (const [key, child] of Object.entries(s.shape as Record<string, z.ZodType>)) walk(child, [...path, key], out, withEnv);
    return;
  }
  const env = withEnv ? `MINATO_${path.map((p) => p.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toUpperCase()).join('_')}` : '';
  let type: ConfigKey['type'] = 'string';
  let values: string[] | undefined;
  let union: ConfigUnion | undefined;
  if (s instanceof z.ZodNumber) type = 'number';
  else if (s instanceof z.ZodBoolean) type = 'boolean';
  else if (s instanceof z.ZodArray) type = 'string[]';
  else if (s instanceof z.ZodDiscriminatedUnion) {
    type = 'json'; // e.g. a DNS provider: one object whose `kind` picks its shape
    union = describeUnion(s);
  } else if (s instanceof z.ZodUnion) type = 'json';
  else if (s instanceof z.ZodRecord) type = 'map';
  else if (s instanceof z.ZodEnum) {
    type = 'enum';
    values = s.options.map(String);
  }
  out.push({ path, env, type, values, defaultValue, optional, description: description || (schema.description ?? ''), union });
}

function describeUnion(u: z.ZodDiscriminatedUnion): ConfigUnion {
  const discriminator = (u as unknown as { _zod: { def: { discriminator: string } } })._zod.def.discriminator;
  const members = (u.options as z.ZodObject[]).map((member) => {
    const keys: ConfigKey[] = [];
    for (const [key, child] of Object.entries(member.shape as Record<string, z.ZodType>)) if (key !== discriminator) walk(child, [key], keys, false);
    return { value: String((member.shape[discriminator] as z.ZodLiteral).value), description: member.description ?? '', keys };
  });
  return { title: u.description ?? `Shapes by ${discriminator}`, discriminator, members, schema: u };
}

function envOverrides(env: NodeJS.ProcessEnv): Plain {
  const out: Plain = {};
  for (const key of configKeys()) {
    const raw = env[key.env];
    if (raw === undefined) continue;
    setPath(out, key.path, coerce(raw, key));
  }
  return out;
}

function coerce(raw: string, key: ConfigKey): unknown {
  switch (key.type) {
    case 'number': {
      const n = Number(raw);
      if (raw.trim() === '' || !Number.isFinite(n)) throw new ConfigError(`${key.env}: expected a number, got "${raw}"`);
      return n;
    }
    case 'boolean':
      if (/^(true|1|yes|on)$/i.test(raw)) return true;
      if (/^(false|0|no|off)$/i.test(raw)) return false;
      throw new ConfigError(`${key.env}: expected true or false, got "${raw}"`);
    case 'json':
      try {
        return JSON.parse(raw) as unknown;
      } catch {
        throw new ConfigError(`${key.env}: expected a JSON object, e.g. {"kind":"rfc2136",...}`);
      }
    case 'string[]':
      return raw
        .split(',')
        .map((s) => s.trim())
        .filter((s) => s !== '');
    default:
      return raw;
  }
}

export function setPath(target: Plain, path: string[], value: unknown): void {
  let node = target;
  for (const p of path.slice(0, -1)) {
    if (typeof node[p] !== 'object' || node[p] === null) node[p] = {};
    node = node[p] as Plain;
  }
  node[path[path.length - 1]!] = value;
}

function deepMerge(base: Plain, over: Plain): Plain {
  const out: Plain = { ...base };
  for (const [k, v] of Object.entries(over)) {
    const b = out[k];
    out[k] =
      v && typeof v === 'object' && !Array.isArray(v) && b && typeof b === 'object' && !Array.isArray(b) ? deepMerge(b as Plain, v as Plain) : v;
  }
  return out;
}

// Scanner registrations (Harbor's ScannerRegistration, src/pkg/scan/dao/scanner): the scanner
// adapters an administrator registered, which one is the default, and which one a project chose.
// The built-in scanner is a registration too (uuid "builtin"), never stored, never changed or
// deleted, and the default until another is made default. Kysely (SQLite and PostgreSQL), tables
// of migration 0013_scan_policy. Cost: a handful of rows, read per API call and per scan start.
import { randomUUID } from 'node:crypto';
import type { Db } from '../../metadata/db.js';
import { directWrites, type WriteGate } from '../../metadata/metadata-store.js';
import { alreadyExists, DomainError, notFound } from '../../util/domain-error.js';
import type { AdapterRegistration } from './adapter-client.js';

export const BUILTIN_SCANNER = 'builtin';

export interface ScannerRegistration extends AdapterRegistration {
  uuid: string;
  description: string;
  disabled: boolean;
  isDefault: boolean;
  skipCertVerify: boolean;
  useInternalAddr: boolean;
  createdAt: number;
  updatedAt: number;
}

export type RegistrationInput = Pick<ScannerRegistration, 'name' | 'url'> & Partial<Pick<ScannerRegistration, 'description' | 'auth' | 'accessCredential' | 'disabled' | 'skipCertVerify' | 'useInternalAddr'>>;

type Stored = Omit<ScannerRegistration, 'uuid' | 'name' | 'isDefault' | 'createdAt' | 'updatedAt'>;

const immutable = () => new DomainError('FORBIDDEN', 'the built-in scanner cannot be changed or deleted');

export class ScannerRegistrations {
  constructor(
    private readonly db: Db,
    /** The built-in scanner's name and version (what its registration shows). */
    private readonly builtin: { name: string; version: string },
    private readonly writes: WriteGate = directWrites,
  ) {}

  private builtinRegistration(isDefault: boolean): ScannerRegistration {
    return {
      uuid: BUILTIN_SCANNER,
      name: this.builtin.name,
      description: `the scanner built into minato (${this.builtin.version})`,
      url: '',
      disabled: false,
      isDefault,
      skipCertVerify: false,
      useInternalAddr: true,
      createdAt: 0,
      updatedAt: 0,
    };
  }

  /** Every registration, the built-in first. */
  async list(): Promise<ScannerRegistration[]> {
    const rows = await this.db.selectFrom('scanner_registrations').selectAll().orderBy('id').execute();
    const stored = rows.map((r) => ({ ...(JSON.parse(r.registration) as Stored), uuid: r.uuid, name: r.name, isDefault: Number(r.is_default) === 1, createdAt: Number(r.created_at), updatedAt: Number(r.updated_at) }));
    return [this.builtinRegistration(!stored.some((s) => s.isDefault)), ...stored];
  }

  async get(uuid: string): Promise<ScannerRegistration> {
    const found = (await this.list()).find((r) => r.uuid === uuid);
    if (!found) throw notFound(`no scanner registration ${uuid}`);
    return found;
  }

  async create(input: RegistrationInput): Promise<ScannerRegistration> {
    const uuid = randomUUID();
    const now = Date.now();
    if ((await this.list()).some((r) => r.name === input.name)) throw alreadyExists(`a scanner named ${input.name} is already registered`);
    await this.writes(() =>
      this.db.insertInto('scanner_registrations').values({ uuid, name: input.name, registration: JSON.stringify(stored(input)), is_default: 0, created_at: now, updated_at: now }).execute(),
    );
    return this.get(uuid);
  }

  async update(uuid: string, input: RegistrationInput): Promise<ScannerRegistration> {
    if (uuid === BUILTIN_SCANNER) throw immutable();
    const present = await this.get(uuid);
    if ((await this.list()).some((r) => r.name === input.name && r.uuid !== uuid)) throw alreadyExists(`a scanner named ${input.name} is already registered`);
    // An update without access_credential keeps the stored one (the API never shows it).
    const next = stored({ ...input, accessCredential: input.accessCredential ?? present.accessCredential });
    await this.writes(() => this.db.updateTable('scanner_registrations').set({ name: input.name, registration: JSON.stringify(next), updated_at: Date.now() }).where('uuid', '=', uuid).execute());
    return this.get(uuid);
  }

  async delete(uuid: string): Promise<ScannerRegistration> {
    if (uuid === BUILTIN_SCANNER) throw immutable();
    const present = await this.get(uuid);
    await this.writes(() =>
      this.db.transaction().execute(async (trx) => {
        await trx.deleteFrom('project_scanners').where('scanner_uuid', '=', uuid).execute();
        await trx.deleteFrom('scanner_registrations').where('uuid', '=', uuid).execute();
      }),
    );
    return present;
  }

  /** Makes one the default (the built-in: no stored one is). */
  async setDefault(uuid: string): Promise<void> {
    await this.get(uuid);
    await this.writes(() =>
      this.db.transaction().execute(async (trx) => {
        await trx.updateTable('scanner_registrations').set({ is_default: 0 }).execute();
        if (uuid !== BUILTIN_SCANNER) await trx.updateTable('scanner_registrations').set({ is_default: 1 }).where('uuid', '=', uuid).execute();
      }),
    );
  }

  /** The project's scanner: the one it chose, else the default. */
  async ofProject(projectId: number): Promise<ScannerRegistration> {
    const chosen = await this.db.selectFrom('project_scanners').select('scanner_uuid').where('project_id', '=', projectId).executeTakeFirst();
    const all = await this.list();
    return all.find((r) => r.uuid === chosen?.scanner_uuid) ?? all.find((r) => r.isDefault)!;
  }

  async setProject(projectId: number, uuid: string): Promise<void> {
    await this.get(uuid);
    await this.writes(() =>
      this.db.transaction().execute(async (trx) => {
        await trx.deleteFrom('project_scanners').where('project_id', '=', projectId).execute();
        await trx.insertInto('project_scanners').values({ project_id: projectId, scanner_uuid: uuid }).execute();
      }),
    );
  }
}

function stored(input: RegistrationInput): Stored {
  return {
    url: input.url,
    description: input.description ?? '',
    auth: input.auth ?? '',
    accessCredential: input.accessCredential,
    disabled: input.disabled ?? false,
    skipCertVerify: input.skipCertVerify ?? false,
    useInternalAddr: input.useInternalAddr ?? false,
  };
}

// Changing projects and robots of a running `minato serve` from the test process, through its
// database, as another process (the CLI, another replica) would: the server hears of it from the
// outbox.
import path from 'node:path';
import { AccessStore } from '../../src/auth/access-store.js';
import { Projects } from '../../src/core/projects.js';
import { SqliteMetadataStore } from '../../src/metadata/sqlite/sqlite-metadata-store.js';

export interface ProjectsHandle {
  projects: Projects;
  close(): Promise<void>;
}

/** The projects of the embedded database in `dataDir`. */
export async function openProjects(dataDir: string): Promise<ProjectsHandle> {
  const store = await SqliteMetadataStore.open(path.join(dataDir, 'minato.db'));
  return { projects: new Projects(new AccessStore(store.db), { defaultStorageLimit: -1 }), close: () => store.close() };
}

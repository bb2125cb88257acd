// The access store's conformance suite against SQLite and PostgreSQL.
import { accessStoreConformance } from './access-store.js';
import { metadataDatabases } from './metadata-databases.js';

const databases = metadataDatabases();
for (const name of ['sqlite', 'postgres'] as const) {
  accessStoreConformance({
    name,
    async open() {
      const store = await databases[name]();
      return { db: store.db, close: () => store.close() };
    },
  });
}

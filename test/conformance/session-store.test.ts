// The SessionStore conformance suite on both metadata databases.
import { metadataDatabases } from './metadata-databases.js';
import { sessionStoreConformance } from './session-store.js';

const databases = metadataDatabases({ maxConnections: 4 });
for (const name of ['sqlite', 'postgres'] as const) {
  sessionStoreConformance({
    name,
    open: async () => {
      const meta = await databases[name]();
      return { db: meta.db, meta, close: () => meta.close() };
    },
  });
}

// The audit log suite on both databases (PostgreSQL in an English ICU collation, as in the field:
// the case-insensitive and literal-% matches cannot pass by accident).
import { auditLogConformance } from './audit-log.js';
import { metadataDatabases } from './metadata-databases.js';

const databases = metadataDatabases({ icuLocale: 'en-US' });
for (const name of ['sqlite', 'postgres'] as const) {
  auditLogConformance({
    name,
    open: async () => {
      const meta = await databases[name]();
      return { meta, db: meta.db };
    },
  });
}

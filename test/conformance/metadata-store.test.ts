// The MetadataStore conformance suite against every implementation. PostgreSQL in an English ICU
// collation (what a database created on a machine with an en_US locale has), so byte-order
// listings cannot pass by accident.
import { metadataDatabases } from './metadata-databases.js';
import { metadataStoreConformance } from './metadata-store.js';

const databases = metadataDatabases({ icuLocale: 'en-US' });
for (const name of ['sqlite', 'postgres'] as const) metadataStoreConformance({ name, open: databases[name] });

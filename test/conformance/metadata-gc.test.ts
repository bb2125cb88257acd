// The garbage collection part of the MetadataStore contract against every implementation.
import { metadataDatabases } from './metadata-databases.js';
import { metadataGcConformance } from './metadata-gc.js';

const databases = metadataDatabases();
for (const name of ['sqlite', 'postgres'] as const) metadataGcConformance({ name, open: databases[name] });

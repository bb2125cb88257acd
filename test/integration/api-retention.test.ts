// Tag retention on SQLite (the suite: api-retention-suite.ts).
import { retentionSuite } from './api-retention-suite.js';

retentionSuite('sqlite');

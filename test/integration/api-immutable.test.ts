// Tag immutability on SQLite (the suite: api-immutable-suite.ts).
import { immutableSuite } from './api-immutable-suite.js';

immutableSuite('sqlite');

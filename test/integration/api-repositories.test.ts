// The repository, artifact and tag endpoints on SQLite (the suite: api-repositories-suite.ts).
import { repositoriesSuite } from './api-repositories-suite.js';

repositoriesSuite('sqlite');

// The project endpoints on SQLite (the suite: api-projects-suite.ts).
import { projectsSuite } from './api-projects-suite.js';

projectsSuite('sqlite');

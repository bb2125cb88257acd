// Signatures on SQLite (the suite: signatures-suite.ts).
import { signaturesSuite } from './signatures-suite.js';

signaturesSuite('sqlite');

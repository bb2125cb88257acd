// A separate process that takes a lock and holds it until it is killed: the conformance suite
// kills it with SIGKILL and checks that the lock comes free.
// Usage: node coordination-child.js '<CoordinationOptions as JSON>' <lock name>
import { openCoordination, type CoordinationOptions } from '../../src/coordination/open.js';

const [options, name] = process.argv.slice(2);
const coordination = await openCoordination(JSON.parse(options!) as CoordinationOptions);
await coordination.locker.lock(name!);
process.stdout.write('locked\n');
setInterval(() => undefined, 60_000);

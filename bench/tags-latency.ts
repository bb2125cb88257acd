// regbench's tags-list scenario in a loop, for comparing servers with less noise than one bench
// run gives: ROUNDS times (5000 tag PUTs at C=32, then 3 paginated listings at n=100), with
// regbench's own client library. Prints the median listing of each round and their median.
// (bench/tags-servers.ts runs the same against four servers it starts itself.)
//
//   node dist/bench/tags-latency.js URL [USER PASSWORD] [ROUNDS]
//   e.g. against minato and against the do-nothing server, alternately:
//   node dist/bench/tags-latency.js http://127.0.0.1:5123 bench PW 8
//   node dist/bench/tags-latency.js http://127.0.0.1:5124 '' '' 8
import { client, median, medianOfThree, pushTags } from './tags-scenario.js';

const [url, user, password, rounds = '8'] = process.argv.slice(2);
if (!url) {
  process.stderr.write('usage: tags-latency URL [USER PASSWORD] [ROUNDS]\n');
  process.exit(2);
}
const c = client(url, user, password);
const medians: number[] = [];
for (let round = 0; round < Number(rounds); round++) {
  await pushTags(c);
  medians.push(await medianOfThree(c));
}
console.log(`${url}: median ${median(medians).toFixed(1)} ms; per round ${medians.map((m) => m.toFixed(1)).join(' ')}`);
await c.close();

// The worker side of wal-checkpointer.ts: a connection of its own, a PASSIVE checkpoint every
// interval, and a last one when told to stop.
import Sqlite from 'better-sqlite3';
import { parentPort, workerData } from 'node:worker_threads';

const { file, intervalMs } = workerData as { file: string; intervalMs: number };
const db = new Sqlite(file);
// NORMAL as the writers: a checkpoint fsyncs the database file before the WAL is reused.
db.pragma('synchronous = NORMAL');
const checkpoint = () => db.pragma('wal_checkpoint(PASSIVE)');
const timer = setInterval(checkpoint, intervalMs);
parentPort!.on('message', (message) => {
  if (message !== 'stop') return;
  clearInterval(timer);
  checkpoint();
  db.close();
  parentPort!.close();
});

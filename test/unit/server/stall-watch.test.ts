import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import type { ServerResponse } from 'node:http';
import { test } from 'node:test';
import { StallWatch } from '../../../src/server/stall-watch.js';

class FakeSocket extends EventEmitter {
  bytesRead = 0;
  bytesWritten = 0;
  destroyed = false;
  destroy(): void {
    this.destroyed = true;
  }
}

function serving(watch: StallWatch, socket: FakeSocket, finished = false): { writableFinished: boolean } {
  const response = { socket, writableFinished: finished };
  watch.serving(response as unknown as ServerResponse);
  return response;
}

test('a request that moves no byte for the idle time is cut; one that moves bytes, or a finished one, is not', (t) => {
  const watch = new StallWatch(1000);
  t.after(() => watch.stop());
  const stalled = new FakeSocket();
  const moving = new FakeSocket();
  const waiting = new FakeSocket(); // between two requests: keepAliveTimeout's business
  serving(watch, stalled);
  serving(watch, moving);
  serving(watch, waiting, true);
  for (const now of [0, 500, 999]) {
    moving.bytesRead += 10;
    watch.sweep(now);
  }
  assert.equal(stalled.destroyed, false, 'not before the idle time');
  moving.bytesWritten += 1;
  watch.sweep(1000);
  assert.equal(stalled.destroyed, true);
  assert.equal(moving.destroyed, false);
  watch.sweep(5000);
  assert.equal(waiting.destroyed, false);
});

test('the next request on a connection starts its own count; a closed connection is forgotten', (t) => {
  const watch = new StallWatch(1000);
  t.after(() => watch.stop());
  const socket = new FakeSocket();
  const first = serving(watch, socket);
  watch.sweep(0);
  first.writableFinished = true;
  watch.sweep(900);
  serving(watch, socket); // a new request, 5 s later, with no byte moved since
  watch.sweep(5000);
  assert.equal(socket.destroyed, false, 'idle time counts from the request, not from the last byte of the one before');
  watch.sweep(6000);
  assert.equal(socket.destroyed, true);
  socket.emit('close');
  assert.equal((watch as unknown as { connections: Map<unknown, unknown> }).connections.size, 0);
});

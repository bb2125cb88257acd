// Closes a connection whose request has moved no byte in either direction for `idleMs`: a body
// that stops arriving, a client that stops reading a download (connections.idleTimeoutSeconds).
// Node's `server.timeout` does the same by re-arming a socket timer twice per request, which cost
// ~4-6 µs of CPU on every request of a paginated listing; here a sweep every quarter of the limit
// compares each busy connection's byte counts with the last sweep's, and a request costs one map
// lookup. A connection waiting between requests is keepAliveTimeout's business, not this one's.
import type { ServerResponse } from 'node:http';
import type { Socket } from 'node:net';

interface Progress {
  /** The response the connection serves now (finished: the connection waits for the next request). */
  response: ServerResponse;
  /** bytesRead + bytesWritten at the last sweep that saw them change, and when. */
  bytes: number;
  since: number;
}

export class StallWatch {
  private readonly connections = new Map<Socket, Progress>();
  private readonly timer: NodeJS.Timeout;

  constructor(private readonly idleMs: number) {
    this.timer = setInterval(() => this.sweep(Date.now()), Math.max(100, Math.floor(idleMs / 4)));
    this.timer.unref();
  }

  /** Called for every request, with its response (which knows its socket). */
  serving(response: ServerResponse): void {
    const socket = response.socket;
    if (socket === null) return;
    const known = this.connections.get(socket);
    if (known) {
      known.response = response;
      return;
    }
    this.connections.set(socket, { response, bytes: -1, since: 0 });
    socket.once('close', () => this.connections.delete(socket));
  }

  sweep(now: number): void {
    for (const [socket, p] of this.connections) {
      if (p.response.writableFinished) {
        p.bytes = -1;
        continue;
      }
      const bytes = socket.bytesRead + socket.bytesWritten;
      if (bytes !== p.bytes) {
        p.bytes = bytes;
        p.since = now;
      } else if (now - p.since >= this.idleMs) {
        socket.destroy();
      }
    }
  }

  stop(): void {
    clearInterval(this.timer);
  }
}

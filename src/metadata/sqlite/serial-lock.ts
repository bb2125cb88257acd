// Runs async critical sections one at a time, in call order (the SQLite store's one writer).
// Uncontended, a section costs two promise ticks.
export class SerialLock {
  private tail: Promise<unknown> = Promise.resolve();

  run<T>(fn: () => Promise<T>): Promise<T> {
    const result = this.tail.then(fn, fn);
    this.tail = result.catch(() => undefined);
    return result;
  }
}

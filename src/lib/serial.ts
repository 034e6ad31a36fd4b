/**
 * A first-in-first-out lock: each task starts only when every task queued before it has
 * finished, whatever their outcome. Unlike "wait until idle, then go", no two waiters can wake
 * together and run at once.
 */
export class SerialQueue {
  private tail: Promise<unknown> = Promise.resolve();
  private queued = 0;

  /** Runs `task` after everything queued before it; resolves or rejects as `task` does. */
  run<T>(task: () => Promise<T>): Promise<T> {
    this.queued += 1;
    const result = this.tail.then(task);
    this.tail = result.then(
      () => (this.queued -= 1),
      () => (this.queued -= 1),
    );
    return result;
  }

  /** Tasks queued or running. */
  get size(): number {
    return this.queued;
  }
}

/**
 * Runs the calls queued under one name one after the other in this process, first come first
 * served, so a cross-process lock (a file, a Redis key) only arbitrates between processes.
 */
export class LocalQueue {
  private readonly tails = new Map<string, Promise<unknown>>();

  async run<T>(name: string, work: () => Promise<T>): Promise<T> {
    const previous = this.tails.get(name) ?? Promise.resolve();
    let done!: () => void;
    const mine = new Promise<void>((resolve) => (done = resolve));
    const tail = previous.then(() => mine);
    this.tails.set(name, tail);
    try {
      await previous;
      return await work();
    } finally {
      done();
      if (this.tails.get(name) === tail) this.tails.delete(name);
    }
  }
}

import { once } from 'node:events';
import { setPriority } from 'node:os';
import { parentPort, Worker } from 'node:worker_threads';

const NEXT_SLICE = 'next-slice';

/**
 * In a worker run by runWorker: yields the CPU to the server's own thread. A reload's workers
 * parse 100k keys or compile a thousand policies for seconds; on a machine with few cores they
 * would take it from the event loop serving calls. On Linux a nice value is per thread, so this
 * lowers only the calling worker; where it cannot be changed the worker runs as it is.
 */
export function yieldCpuToServer(): void {
  try {
    setPriority(19);
  } catch {
    // Not permitted or not supported here: the worker keeps the process's priority.
  }
}

/** In a worker run by runWorker: resolves once the main thread has taken the last slice posted. */
export async function nextSliceWanted(): Promise<void> {
  for (;;) {
    const [message] = (await once(parentPort!, 'message')) as [unknown];
    if (message === NEXT_SLICE) return;
  }
}

/**
 * Runs a worker module once and streams what it posts: `onMessage` sees each message, then the
 * worker is sent NEXT_SLICE, and a worker that posts a large result in slices waits for it
 * (nextSliceWanted) before posting the next. Node delivers every message already queued on a
 * port in one turn of the event loop, so without that handshake a result of many slices would
 * be taken in (deserialized and handled) in one long pause after all. Resolves when the worker
 * posts `{ done: true, ... }` (that message is the result), rejects when it posts `{ error }`,
 * throws or exits early. The worker is always terminated.
 */
export function runWorker<Done extends { done: true }>(
  module: URL,
  workerData: unknown,
  onMessage: (message: unknown) => void,
): Promise<Done> {
  return new Promise<Done>((resolve, reject) => {
    const worker = new Worker(module, { workerData });
    let settled = false;
    const finish = (settle: () => void): void => {
      if (settled) return;
      settled = true;
      settle();
      void worker.terminate();
    };
    worker.on('message', (message: { done?: unknown; error?: unknown }) => {
      if (settled) return;
      if (message?.done === true) finish(() => resolve(message as Done));
      else if (message?.error !== undefined) finish(() => reject(message.error));
      else {
        try {
          onMessage(message);
          worker.postMessage(NEXT_SLICE);
        } catch (err) {
          finish(() => reject(err));
        }
      }
    });
    worker.on('error', (err) => finish(() => reject(err)));
    worker.on('exit', (code) => finish(() => reject(new Error(`worker exited with code ${code} before finishing`))));
  });
}

/** Yields to the event loop between slices of `items`, so a long loop never stalls other work. */
export async function forEachInSlices<T>(items: Iterable<T>, visit: (item: T) => void, sliceSize = 2_000): Promise<void> {
  let count = 0;
  for (const item of items) {
    visit(item);
    if (++count % sliceSize === 0) await new Promise<void>((resolve) => setImmediate(resolve));
  }
}

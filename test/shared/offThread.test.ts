import { test } from 'node:test';
import assert from 'node:assert/strict';
import { getPriority } from 'node:os';
import { runWorker } from '../../src/shared/offThread.js';

/**
 * A reload's workers (keys, policies) run seconds of CPU; on a 2-core machine they starved the
 * event loop serving calls (bench:scale's reload stall). They lower their own priority; a nice
 * value is per thread on Linux, so the server's own thread keeps its priority.
 */
test('a worker that yields the CPU to the server runs at the lowest priority; the server thread keeps its own', { skip: process.platform !== 'linux' && 'thread priorities are per thread on Linux only' }, async () => {
  const before = getPriority();
  const worker = new URL('./yieldingWorker.js', import.meta.url);
  const result = await runWorker<{ done: true; priority: number }>(worker, {}, () => undefined);
  assert.equal(result.priority, 19);
  assert.equal(getPriority(), before);
});

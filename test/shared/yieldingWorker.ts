import { getPriority } from 'node:os';
import { parentPort } from 'node:worker_threads';
import { yieldCpuToServer } from '../../src/shared/offThread.js';

/** For offThread.test.ts: a worker as the reload's are, reporting its thread's priority. */
yieldCpuToServer();
parentPort!.postMessage({ done: true, priority: getPriority() });

import { parentPort, workerData } from 'node:worker_threads';
import { yieldCpuToServer } from '../shared/offThread.js';
import { prepareCandidate } from './candidate.js';
import { PolicyLoadError } from './errors.js';
import type { PolicyPaths } from './policySet.js';
import { SlotPair } from './slots.js';

/**
 * Compiles, validates and tests a policy directory off the server's event loop
 * (AuthzEngine.reloadOffThread): about 5 ms per policy, seconds for a large set. The tests run
 * here against this thread's preparse of the very policy texts the engine then preparses on the
 * main thread (cedar-wasm keeps preparsed sets per thread). Posts `{ done, compiled, tests }`, or
 * `{ error: { problems } }`.
 */
const { paths } = workerData as { paths: PolicyPaths };
yieldCpuToServer();
try {
  const { compiled, tests } = prepareCandidate(paths, new SlotPair());
  parentPort!.postMessage({ done: true, compiled, tests });
} catch (err) {
  const problems = err instanceof PolicyLoadError ? err.problems : [String((err as Error)?.message ?? err)];
  parentPort!.postMessage({ error: { problems } });
}

import { parentPort, workerData } from 'node:worker_threads';
import { isFutuError } from '../shared/errors.js';
import { nextSliceWanted, yieldCpuToServer } from '../shared/offThread.js';
import { readKeysFile } from './file.js';

/**
 * Reads and validates keys.json off the server's event loop (KeyStore.reloadOffThread): at 100k
 * keys parsing and validating take seconds. Records go back in slices of SLICE, each posted once
 * the main thread has taken the previous one, so it takes them in without a long pause; then `{ done }`. A problem is
 * posted as `{ error: { code, message, details } }`.
 */
const SLICE = 200;

const { file } = workerData as { file: string };
yieldCpuToServer();
try {
  const records = readKeysFile(file);
  for (let i = 0; i < records.length; i += SLICE) {
    parentPort!.postMessage({ records: records.slice(i, i + SLICE) });
    await nextSliceWanted();
  }
  parentPort!.postMessage({ done: true, total: records.length });
} catch (err) {
  parentPort!.postMessage({
    error: isFutuError(err) ? { code: err.code, message: err.message, details: err.details } : { code: 'KEYS_FILE_INVALID', message: String((err as Error)?.message ?? err), details: {} },
  });
}

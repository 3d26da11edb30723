import { createHash } from 'node:crypto';
import { readFileSync, watch, type FSWatcher } from 'node:fs';
import { basename, dirname } from 'node:path';
import { describeError } from '../shared/errors.js';
import { log } from '../shared/log.js';

/** Writers replace keys.json by rename and may touch it more than once: one reload per burst. */
const SETTLE_MS = 250;

export interface KeysFileWatch {
  /** A reload (SIGHUP) is about to read the file: a change already read is not reloaded again. */
  markLoaded(): void;
  close(): void;
}

/** What the file holds now (undefined when unreadable), to tell a real change from a touch. */
function contentDigest(file: string): string | undefined {
  try {
    return createHash('sha256').update(readFileSync(file)).digest('hex');
  } catch {
    return undefined;
  }
}

/**
 * Calls `onChange` shortly after keys.json changes, so a revocation applies without SIGHUP. The
 * directory is watched, not the file: futucli replaces the file atomically (a new inode), which a
 * watch on the old inode would never report. A watch that cannot be set up (or fails later) is
 * logged, and SIGHUP remains the way to reload.
 */
export function watchKeysFile(file: string, onChange: () => void): KeysFileWatch {
  const name = basename(file);
  let timer: NodeJS.Timeout | undefined;
  let watcher: FSWatcher | undefined;
  let loaded = contentDigest(file);
  const reloadIfChanged = (): void => {
    const now = contentDigest(file);
    if (now === loaded) return;
    loaded = now;
    onChange();
  };
  try {
    watcher = watch(dirname(file), { persistent: false }, (_event, changed) => {
      if (changed !== null && changed.toString() !== name) return;
      clearTimeout(timer);
      timer = setTimeout(reloadIfChanged, SETTLE_MS);
      timer.unref();
    });
    watcher.on('error', (err) => {
      log.warn('stopped watching the keys file; send SIGHUP to reload keys', { file, error: describeError(err) });
      watcher?.close();
    });
  } catch (err) {
    log.warn('cannot watch the keys file; send SIGHUP to reload keys', { file, error: describeError(err) });
  }
  return {
    markLoaded() {
      loaded = contentDigest(file);
    },
    close() {
      clearTimeout(timer);
      watcher?.close();
    },
  };
}

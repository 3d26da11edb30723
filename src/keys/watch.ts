import { createHash } from 'node:crypto';
import { createReadStream, watch, type FSWatcher } from 'node:fs';
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

/**
 * What the file holds now (undefined when unreadable), to tell a real change from a touch. Read
 * and hashed as a stream: at 100k keys the file is tens of megabytes, which read and hashed in
 * one piece stalled every call for tens of milliseconds (and a major GC after it).
 */
async function contentDigest(file: string): Promise<string | undefined> {
  try {
    const hash = createHash('sha256');
    for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
    return hash.digest('hex');
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
  let loaded: string | undefined;
  // Digests finish out of order: only the latest one read stands for the file.
  let reads = 0;
  const read = async (): Promise<{ digest: string | undefined; latest: boolean }> => {
    const mine = ++reads;
    const digest = await contentDigest(file);
    return { digest, latest: mine === reads };
  };
  const noteLoaded = (): void => void read().then(({ digest, latest }) => latest && (loaded = digest));
  const reloadIfChanged = async (): Promise<void> => {
    const { digest, latest } = await read();
    if (!latest || digest === loaded) return;
    loaded = digest;
    onChange();
  };
  noteLoaded();
  try {
    watcher = watch(dirname(file), { persistent: false }, (_event, changed) => {
      if (changed !== null && changed.toString() !== name) return;
      clearTimeout(timer);
      timer = setTimeout(() => void reloadIfChanged(), SETTLE_MS);
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
      noteLoaded();
    },
    close() {
      clearTimeout(timer);
      watcher?.close();
    },
  };
}

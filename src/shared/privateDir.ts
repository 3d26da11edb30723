import { lstatSync, readdirSync, type Stats } from 'node:fs';
import { join } from 'node:path';
import { FutuError } from './errors.js';

/**
 * The state directory holds what limits are computed from (each key's daily value and recent
 * orders): whoever can write or delete there can reset a key's daily usage. So it, and everything
 * in it, must belong to this process's user and be writable by nobody else (POSIX; on Windows the
 * ACLs of the user profile apply). Checked at startup, before anything is read from it.
 */
export class StateDirError extends FutuError {
  declare readonly code: 'STATE_DIR_UNSAFE';
  constructor(message: string, path: string) {
    super('STATE_DIR_UNSAFE', message, { path });
  }
}

/** Deep enough for the ledger's layout (state dir / ledger / files); no symlinks are followed. */
const MAX_DEPTH = 3;

export function assertPrivateStateDir(dir: string, self: number | undefined = process.getuid?.()): void {
  if (self === undefined) return;
  let stat: Stats;
  try {
    stat = lstatSync(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return; // created 0700 on first use
    throw err;
  }
  check(dir, stat, self, dir, 0);
}

function check(path: string, stat: Stats, self: number, root: string, depth: number): void {
  if (stat.uid !== self) {
    throw new StateDirError(
      `state directory entry ${path} is owned by uid ${stat.uid}, not by this user (uid ${self}), who could reset the limits kept there; run: chown -R ${self} ${root}`,
      path,
    );
  }
  if ((stat.mode & 0o022) !== 0 && !stat.isSymbolicLink()) {
    const mode = (stat.mode & 0o777).toString(8).padStart(4, '0');
    throw new StateDirError(
      `state directory entry ${path} is writable by group or others (mode ${mode}), who could reset the limits kept there; run: chmod -R go-w ${root}`,
      path,
    );
  }
  if (!stat.isDirectory() || depth >= MAX_DEPTH) return;
  for (const name of readdirSync(path)) {
    const entry = join(path, name);
    check(entry, lstatSync(entry), self, root, depth + 1);
  }
}

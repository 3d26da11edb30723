import fs from 'node:fs';

/** fs.fdatasync's callback form: it runs on libuv's thread pool, so the event loop keeps serving. */
export type Fdatasync = (fd: number, done: (err: NodeJS.ErrnoException | null) => void) => void;

/** Called once per failed sync, after every record it denied has been rejected. */
export type SyncFailureHandler = (file: OpenFile, err: Error, deniedRecords: number) => void;

/** The records that one fdatasync settles. */
class SyncGroup {
  records = 0;
  readonly done: Promise<void>;
  private settle!: (err: Error | null) => void;

  constructor() {
    this.done = new Promise<void>((resolve, reject) => {
      this.settle = (err) => (err === null ? resolve() : reject(err));
    });
  }

  finish(err: Error | null): void {
    this.settle(err);
  }
}

/**
 * One descriptor of the audit file and its group commit. At most one fdatasync runs at a time;
 * records written while it runs wait together for the next one, which starts as soon as it ends.
 *
 * The descriptor is closed only once no sync is running or owed on it: closing it under a running
 * fdatasync would let the number be reused by another open, and the sync could then flush the
 * wrong file and report our records durable.
 */
export class OpenFile {
  private syncing = false;
  /** Written after the running sync started, so only the next one covers them; set only while syncing. */
  private waiting: SyncGroup | undefined;
  private retired = false;
  private descriptorOpen = true;
  private readonly released: Promise<void>;
  private release!: () => void;

  constructor(
    readonly fd: number,
    readonly ino: number,
    readonly dev: number,
    private readonly fdatasync: Fdatasync,
    private readonly onSyncFailure: SyncFailureHandler,
  ) {
    this.released = new Promise<void>((resolve) => {
      this.release = resolve;
    });
  }

  /**
   * Resolves once an fdatasync that started after this call has succeeded; call it right after
   * writing `records` records. Rejects with the errno error of the sync that failed.
   */
  synced(records: number): Promise<void> {
    const group = (this.waiting ??= new SyncGroup());
    group.records += records;
    if (!this.syncing) this.startSync();
    return group.done;
  }

  /** No more writes go through this descriptor; resolves once it is closed. Never rejects. */
  retire(): Promise<void> {
    this.retired = true;
    if (!this.syncing) this.closeDescriptor();
    return this.released;
  }

  private startSync(): void {
    const covered = this.waiting!;
    this.waiting = undefined;
    this.syncing = true;
    this.fdatasync(this.fd, (err) => {
      this.syncing = false;
      if (!err) {
        covered.finish(null);
        if (this.waiting !== undefined) this.startSync();
        else if (this.retired) this.closeDescriptor();
        return;
      }
      // Records written while the failed sync ran are denied as well: Linux reports a writeback
      // error to a descriptor only once, so the next sync here could succeed although their pages
      // were dropped with the failed ones.
      const later = this.waiting;
      this.waiting = undefined;
      covered.finish(err);
      later?.finish(err);
      this.closeDescriptor();
      this.onSyncFailure(this, err, covered.records + (later?.records ?? 0));
    });
  }

  private closeDescriptor(): void {
    if (!this.descriptorOpen) return;
    this.descriptorOpen = false;
    try {
      fs.closeSync(this.fd);
    } catch {
      // Already unusable: nothing more to release.
    }
    this.release();
  }
}

import fs from 'node:fs';
import path from 'node:path';
import { fsyncDirectory } from '../shared/atomicFile.js';
import { describeError } from '../shared/errors.js';
import { acquireLock, withLockSync, type LockOptions } from '../shared/fileLock.js';
import { LockLease, type LeaseTiming } from '../shared/lockLease.js';
import { log } from '../shared/log.js';
import { GENESIS_HASH, HASH_PATTERN } from './chain.js';
import { AuditError, auditUnavailable } from './errors.js';
import { readLastLine } from './lines.js';
import { OpenFile, type Fdatasync } from './openFile.js';
import { firstRecordDay, Rotator, type RotationOptions } from './rotation.js';
import { prepareEvent, sealEvent, type PreparedEvent } from './seal.js';
import type { AuditEvent, AuditHead, AuditRecord } from './types.js';

export interface AuditLogOptions {
  /** How long append() waits for another process holding the file's lock before failing. */
  readonly lockTimeoutMs?: number;
  /**
   * Test seam, not a tuning knob: replaces fs.fdatasync so tests can count syncs, hold one open, or
   * make one fail. An implementation must call `done` exactly once.
   */
  readonly fdatasync?: Fdatasync;
  /**
   * Test seam, not a tuning knob: replaces the shared acquireLock that each batch takes
   * `<file>.lock` with, so tests can count acquisitions. An implementation must return what
   * acquireLock returns for the same arguments.
   */
  readonly acquireLock?: typeof acquireLock;
  /** Size/daily rotation, retention and compression (rotation.ts); none when absent. */
  readonly rotation?: RotationOptions;
  /** Test seam: the time records are stamped with and daily rotation goes by. */
  readonly clock?: () => Date;
  /**
   * The process writing (futu-mcp: its replica id, newReplicaId), put in every record as
   * `replica`: replicas each keep their own chain, and a record says which one wrote it.
   */
  readonly replica?: string;
}

const DEFAULT_LOCK_TIMEOUT_MS = 5_000;
/** The lock's lease (see the class comment); maxMs keeps its age far below LOCK_STALE_AFTER_MS. */
const LEASE_TIMING: LeaseTiming = { idleMs: 25, maxMs: 1_000, pollMs: 2, handoverMs: 8 };
/**
 * A lock is held for one lease, at most LEASE_TIMING.maxMs (a batch itself takes well under a
 * millisecond), so a lock this old belongs to a holder that died (its pid may since be reused),
 * to one that is frozen, or to one on another host that cannot be checked. A frozen holder
 * whose lock was broken denies its calls, as a batch re-checks the lock right before writing;
 * should it resume exactly between that check and the write, verify reports the fork.
 */
const LOCK_STALE_AFTER_MS = 30_000;
/** After a rotation failed (the file keeps growing, nothing is denied), when to try again. */
const ROTATION_RETRY_MS = 60_000;

/** One append() waiting for its batch. */
interface Pending {
  readonly prepared: PreparedEvent;
  readonly resolve: (record: AuditRecord) => void;
  readonly reject: (err: AuditError) => void;
}

/**
 * The append-only, hash-chained audit file (`--audit-log`).
 *
 * append() resolves only once the record is on disk (fdatasync), so a tool result can never be
 * delivered for a call that left no durable trace; it rejects with AuditError on any failure, and
 * the caller must then deny the call.
 *
 * Batching: append() only queues its event; the queue is written as one batch under one lock
 * acquisition, one tail check and one write(2), its records sealed in call order, so seq order is
 * call order and they resolve in that order. Creating and removing the lock file costs several
 * times what sealing a record does, so it is paid once per batch rather than once per record.
 *
 * The batch is flushed from setImmediate, not a microtask. A microtask runs before the event loop
 * polls again, so it only gathers the appends of the one callback that queued it; setImmediate
 * runs after the poll phase, so it gathers the appends of every request and OpenD reply handled
 * in that loop iteration. Measured with 64 clients sending requests over sockets: 1 record per
 * batch with a microtask, about 30 with setImmediate, at twice the throughput; an idle server
 * starts the batch about 1 µs later than a microtask would, as the check phase follows at once.
 * Appends issued while a batch is being written (waiting for another process's lock) form the
 * next batch, written as soon as that one is.
 *
 * Group commit: a synchronous fdatasync per batch (3-6 ms) would still cap the server and stall
 * the event loop. So a batch is synced after the lock is released, on libuv's thread pool. A
 * record waits for the first fdatasync that starts after its write, since one already running may
 * have missed it; at most one runs at a time, so each covers every batch written during the
 * previous one.
 *
 * Several processes may share one file (two MCP clients spawning futu-mcp with the same path). Each
 * batch holds `<file>.lock` around "find the tail, seal, write", and re-reads the last record
 * whenever the file is not the size our own last write left it at, so every process chains onto
 * the true tail. The lock is awaited without blocking the event loop: the queue, not the lock,
 * keeps the records in call order.
 *
 * The lease (LockLease): creating and removing the lock file, and the directory updates the next
 * fdatasync then has to commit, cost more than everything else a batch does, so the lock is kept
 * from one batch to the next while appends keep coming, and handed over as soon as another writer
 * announces itself (`<file>.lock.waiting`). It ends on any failure and on close().
 *
 * An event that cannot be serialized fails its own append() at once and never joins a batch.
 * After a failed batch (lock timeout, failed write) every record in it is denied and the instance
 * forgets everything it knew about the file: a partially written batch is truncated away (still
 * under the lock), the descriptor is dropped, and the next append reopens the path and re-reads
 * the tail. If the tail can't be trusted (a partial line that could not be removed, an unparseable
 * last record) every append fails until an operator repairs or moves the file: the log never
 * continues a chain it cannot link.
 *
 * A failed sync cannot be undone that way: the lock is gone and later records, ours or another
 * process's, may already chain onto the unconfirmed lines, so they stay. Every record still
 * waiting on that descriptor is denied, the descriptor is dropped and the next append re-reads the
 * tail, so the chain goes on from whatever the file really holds. If the lines are there, the
 * chain runs through them, and each one records a call whose result was withheld: a record proves
 * the call was decided, not that its result reached the client. If they were lost, the file ends
 * at the last record that reached the disk and the next one chains onto it, or a damaged tail
 * stops appends as above; should records chained onto the lost ones have survived, verify reports
 * the gap rather than hiding it.
 *
 * close() refuses new appends at once, writes the ones already queued, and resolves when the
 * syncs owed to all of them have settled and the descriptor is closed; it never rejects, as each
 * append reports its own failure.
 */
export class AuditLog {
  private file: OpenFile | undefined;
  /** File size right after our last write; -1 forces re-reading the tail. */
  private sizeAfterLastWrite = -1;
  private last: AuditHead = { seq: 0, hash: GENESIS_HASH };
  private closed = false;
  /** Appends waiting for the next batch, in call order. */
  private queue: Pending[] = [];
  private flushScheduled = false;
  /** The batch being written (lock, seal, write), until it is written or has failed. */
  private writing: Promise<void> | undefined;
  /** Dropped descriptors that still owe a sync, so close() can wait for them. */
  private readonly retiring = new Set<Promise<void>>();
  /** `<file>.lock`, kept from batch to batch. */
  private readonly lease: LockLease;
  /** The UTC day the open file's first record is from (daily rotation), for the file of that inode. */
  private fileDay: { readonly ino: number; readonly day: string | undefined } | undefined;
  private rotationRetryAt = 0;

  private constructor(
    readonly path: string,
    lockOptions: LockOptions,
    private readonly fdatasync: Fdatasync,
    takeLock: typeof acquireLock,
    private readonly rotator: Rotator | undefined,
    private readonly clock: () => Date,
    private readonly replica: string | undefined,
  ) {
    this.lease = new LockLease(`${path}.lock`, lockOptions, LEASE_TIMING, takeLock);
  }

  /** Opens (creating it 0600, parents 0700) and reads the tail, so a bad path fails at startup. */
  static open(file: string, options: AuditLogOptions = {}): AuditLog {
    const resolved = path.resolve(file);
    const lockOptions = { timeoutMs: options.lockTimeoutMs ?? DEFAULT_LOCK_TIMEOUT_MS, staleAfterMs: LOCK_STALE_AFTER_MS, announceWaiting: true };
    // fdatasync also flushes the new file size (needed to read the data back), skipping only
    // timestamps: durable for appends, and markedly cheaper than fsync.
    const rotator = options.rotation && (options.rotation.maxBytes !== undefined || options.rotation.daily) ? new Rotator(resolved, options.rotation) : undefined;
    const audit = new AuditLog(resolved, lockOptions, options.fdatasync ?? fs.fdatasync, options.acquireLock ?? acquireLock, rotator, options.clock ?? (() => new Date()), options.replica);
    try {
      fs.mkdirSync(path.dirname(resolved), { recursive: true, mode: 0o700 });
      // Synchronous, unlike a batch's: open() is synchronous and nothing else is waiting yet.
      withLockSync(audit.lease.path, lockOptions, () => audit.syncWithFile());
    } catch (err) {
      audit.closeFile();
      log.error('audit log open failed', { file: resolved, error: describeError(err) });
      throw new AuditError('AUDIT_WRITE_FAILED', `cannot open audit log ${resolved}: ${describeError(err)}`);
    }
    return audit;
  }

  /**
   * The newest record this instance wrote or read, durable or not yet; other processes may have
   * appended since. Appends still queued are not in it.
   */
  get head(): AuditHead {
    return this.last;
  }

  append(event: AuditEvent): Promise<AuditRecord> {
    if (this.closed) return Promise.reject(auditUnavailable());
    let prepared: PreparedEvent;
    try {
      prepared = prepareEvent(this.replica === undefined ? event : Object.assign({}, event, { replica: this.replica }));
    } catch (err) {
      log.error('audit event cannot be serialized', { file: this.path, error: describeError(err) });
      return Promise.reject(auditUnavailable());
    }
    return new Promise<AuditRecord>((resolve, reject) => {
      this.queue.push({ prepared, resolve, reject });
      if (!this.flushScheduled && this.writing === undefined) {
        this.flushScheduled = true;
        setImmediate(() => {
          this.flushScheduled = false;
          this.flush();
        });
      }
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    this.flush();
    // A batch that queued while this one was written is started by it, so loop until none is.
    while (this.writing !== undefined) await this.writing;
    this.lease.end();
    this.closeFile();
    await Promise.all(this.retiring);
    await this.rotator?.idle();
  }

  /** Starts writing the queue as one batch, unless one is being written: it flushes again when done. */
  private flush(): void {
    if (this.writing !== undefined || this.queue.length === 0) return;
    const batch = this.queue;
    this.queue = [];
    this.writing = this.commit(batch).finally(() => {
      this.writing = undefined;
      this.flush();
    });
  }

  /** Writes and syncs one batch and settles its appends; never rejects. */
  private async commit(batch: readonly Pending[]): Promise<void> {
    let written: { file: OpenFile; records: AuditRecord[] };
    try {
      written = await this.sealAndWrite(batch.map((pending) => pending.prepared));
    } catch {
      for (const pending of batch) pending.reject(auditUnavailable());
      return;
    }
    // Settles outside `writing`: the next batch may be written while this one syncs.
    void written.file.synced(batch.length).then(
      () => batch.forEach((pending, i) => pending.resolve(written.records[i]!)),
      () => batch.forEach((pending) => pending.reject(auditUnavailable())),
    );
  }

  /** Seals the events onto the file's tail and writes them with one write, under the lock. */
  private async sealAndWrite(events: readonly PreparedEvent[]): Promise<{ file: OpenFile; records: AuditRecord[] }> {
    let written = false;
    try {
      if (this.file === undefined) fs.mkdirSync(path.dirname(this.path), { recursive: true, mode: 0o700 });
      const lock = await this.lease.acquire();
      // Even under a kept lock: the path may have been replaced, or the file changed by a writer
      // that ignores the lock; the chain must not go on past either unnoticed.
      let sizeBefore = this.syncWithFile();
      // One timestamp for the batch: its records are written, and become durable, together.
      const timestamp = this.clock().toISOString();
      if (this.rotationDue(sizeBefore, timestamp)) sizeBefore = this.rotate(sizeBefore);
      const file = this.file!;
      const records: AuditRecord[] = [];
      let text = '';
      let head = this.last;
      for (const event of events) {
        const { record, line } = sealEvent(event, head, timestamp);
        records.push(record);
        text += line;
        head = record;
      }
      const bytes = Buffer.from(text);
      // The tail read above is only the true tail if no one else could append since.
      lock.assertHeld();
      this.writeAll(file.fd, bytes, sizeBefore);
      this.sizeAfterLastWrite = sizeBefore + bytes.length;
      this.last = { seq: head.seq, hash: head.hash };
      written = true;
      return { file, records };
    } catch (err) {
      this.closeFile();
      log.error('audit log write failed', { file: this.path, records: events.length, error: describeError(err) });
      throw err;
    } finally {
      if (written && !this.closed) this.lease.kept();
      else this.lease.end();
    }
  }

  private rotationDue(size: number, timestamp: string): boolean {
    if (this.rotator === undefined || Date.now() < this.rotationRetryAt) return false;
    let day: string | undefined;
    if (this.rotator.options.daily) {
      const file = this.file!;
      if (this.fileDay?.ino !== file.ino || this.fileDay.day === undefined) this.fileDay = { ino: file.ino, day: firstRecordDay(file.fd) };
      day = this.fileDay.day;
    }
    return this.rotator.due(size, day, timestamp.slice(0, 10));
  }

  /**
   * Under the lock: renames the full file away and opens a new one at the path, which the chain
   * continues into (head kept). Returns the new file's size (0). A rotation that fails is logged
   * and retried later; the records go on into the old file, as nothing about them is wrong.
   */
  private rotate(sizeBefore: number): number {
    let rotated: string;
    try {
      rotated = this.rotator!.rotate();
    } catch (err) {
      this.rotationRetryAt = Date.now() + ROTATION_RETRY_MS;
      log.error('audit log rotation failed; records continue in the current file', { file: this.path, error: describeError(err) });
      return sizeBefore;
    }
    const settled = this.closeFile();
    this.reopen();
    this.sizeAfterLastWrite = 0;
    if (settled) this.rotator!.compressLater(rotated, settled);
    return 0;
  }

  /** Makes the descriptor point at the file now at the path and `last` at its tail; returns the file size. */
  private syncWithFile(): number {
    const atPath = statIfExists(this.path);
    if (this.file === undefined || atPath === undefined || atPath.ino !== this.file.ino || atPath.dev !== this.file.dev) {
      if (this.file !== undefined) log.warn('audit log file was replaced or removed; continuing in the file at its path', { file: this.path });
      this.reopen();
    }
    const { fd } = this.file!;
    const size = fs.fstatSync(fd).size;
    if (size !== this.sizeAfterLastWrite) {
      const tail = readLastLine(fd, size);
      if (tail === null && this.last.seq > 0) {
        // Emptied, or replaced by an empty file: carry the chain on instead of starting a new
        // one, so the new file verifies only together with the records it lost.
        log.error('audit log is empty although it held records; the chain continues from its last known record', {
          file: this.path,
          seq: this.last.seq,
          head: this.last.hash,
        });
      } else {
        this.last = headOf(tail);
      }
    }
    return size;
  }

  private reopen(): void {
    this.closeFile();
    const fd = fs.openSync(this.path, 'a+', 0o600);
    let stat: fs.Stats;
    try {
      stat = fs.fstatSync(fd);
      if (stat.isFile() && (stat.mode & 0o077) !== 0) {
        fs.fchmodSync(fd, 0o600);
        log.warn('audit log was readable by others; permissions set to 0600', { file: this.path });
      }
      // A new file's directory entry must be durable too, or a crash could lose the whole file.
      if (stat.size === 0) fsyncDirectory(path.dirname(this.path));
    } catch (err) {
      fs.closeSync(fd);
      throw err;
    }
    this.file = new OpenFile(fd, stat.ino, stat.dev, this.fdatasync, (file, err, deniedRecords) => this.syncFailed(file, err, deniedRecords));
  }

  private syncFailed(file: OpenFile, err: Error, deniedRecords: number): void {
    log.error('audit log sync failed; the calls waiting on it are denied', {
      file: this.path,
      records: deniedRecords,
      error: describeError(err),
    });
    if (this.file === file) this.closeFile();
  }

  private writeAll(fd: number, bytes: Buffer, sizeBefore: number): void {
    try {
      for (let written = 0; written < bytes.length; ) written += fs.writeSync(fd, bytes, written, bytes.length - written);
    } catch (err) {
      this.removePartialBatch(fd, sizeBefore);
      throw err;
    }
  }

  /** We still hold the lock, so everything past sizeBefore is ours. */
  private removePartialBatch(fd: number, sizeBefore: number): void {
    try {
      if (fs.fstatSync(fd).size > sizeBefore) fs.ftruncateSync(fd, sizeBefore);
    } catch (err) {
      log.error('could not remove a partially written audit batch; appends fail until the file is repaired', {
        file: this.path,
        error: describeError(err),
      });
    }
  }

  /** Drops the descriptor; the promise settles once the syncs owed on it have. */
  private closeFile(): Promise<void> | undefined {
    let closed: Promise<void> | undefined;
    if (this.file !== undefined) {
      closed = this.file.retire();
      this.retiring.add(closed);
      void closed.then(() => this.retiring.delete(closed!));
    }
    this.file = undefined;
    this.sizeAfterLastWrite = -1;
    return closed;
  }
}

function statIfExists(file: string): fs.Stats | undefined {
  try {
    return fs.statSync(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

function headOf(lastLine: string | null): AuditHead {
  if (lastLine === null) return { seq: 0, hash: GENESIS_HASH };
  const parsed = JSON.parse(lastLine) as { seq?: unknown; hash?: unknown } | null;
  const seq = parsed?.seq;
  const hash = parsed?.hash;
  if (typeof seq !== 'number' || !Number.isSafeInteger(seq) || seq < 1 || typeof hash !== 'string' || !HASH_PATTERN.test(hash)) {
    throw new Error('the last audit record has no valid seq and hash');
  }
  return { seq, hash };
}

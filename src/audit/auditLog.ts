import fs from 'node:fs';
import path from 'node:path';
import { fsyncDirectory } from '../shared/atomicFile.js';
import { describeError } from '../shared/errors.js';
import { withLockSync, type HeldLock, type LockOptions } from '../shared/fileLock.js';
import { log } from '../shared/log.js';
import { canonicalJson } from './canonical.js';
import { GENESIS_HASH, HASH_PATTERN, recordHash } from './chain.js';
import { AuditError, auditUnavailable } from './errors.js';
import { readLastLine } from './lines.js';
import { OpenFile, type Fdatasync } from './openFile.js';
import { scrubSecrets } from './secrets.js';
import type { AuditEvent, AuditHead, AuditRecord } from './types.js';

export interface AuditLogOptions {
  /** How long append() waits for another process holding the file's lock before failing. */
  readonly lockTimeoutMs?: number;
  /**
   * Test seam, not a tuning knob: replaces fs.fdatasync so tests can count syncs, hold one open, or
   * make one fail. An implementation must call `done` exactly once.
   */
  readonly fdatasync?: Fdatasync;
}

const DEFAULT_LOCK_TIMEOUT_MS = 5_000;
/**
 * Holds last a few syscalls, so a lock this old belongs to a holder that died (its pid may since
 * be reused), to one that is frozen, or to one on another host that cannot be checked. A frozen
 * holder whose lock was broken denies its call, as append() re-checks the lock right before
 * writing; should it resume exactly between that check and the write, verify reports the fork.
 */
const LOCK_STALE_AFTER_MS = 30_000;

/**
 * The append-only, hash-chained audit file (`--audit-log`).
 *
 * append() resolves only once the record is on disk (fdatasync), so a tool result can never be
 * delivered for a call that left no durable trace; it rejects with AuditError on any failure, and
 * the caller must then deny the call.
 *
 * Group commit: a synchronous fdatasync per record (3-6 ms) would cap the server at a few hundred
 * calls per second and stall the event loop. So append() seals and writes its line synchronously
 * (seq order is call order) but syncs afterwards, outside the lock and on libuv's thread pool. A
 * record waits for the first fdatasync that starts after its write, since one already running may
 * have missed it; at most one runs at a time, so each covers every record written during the
 * previous one.
 *
 * Several processes may share one file (two MCP clients spawning futu-mcp with the same path). Each
 * append holds `<file>.lock` around "find the tail, write", and re-reads the last record whenever
 * the file is not the size our own last write left it at, so every process chains onto the true
 * tail.
 *
 * After a failed write the instance forgets everything it knew about the file: a partially
 * written record is truncated away (still under the lock), the descriptor is dropped, and the next
 * append reopens the path and re-reads the tail. If the tail can't be trusted (a partial line that
 * could not be removed, an unparseable last record) every append fails until an operator repairs
 * or moves the file: the log never continues a chain it cannot link.
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
 * close() stops new appends at once and resolves when the syncs owed to earlier ones have settled
 * and the descriptor is closed; it never rejects, as each append reports its own failure.
 */
export class AuditLog {
  private file: OpenFile | undefined;
  /** File size right after our last write; -1 forces re-reading the tail. */
  private sizeAfterLastWrite = -1;
  private last: AuditHead = { seq: 0, hash: GENESIS_HASH };
  private closed = false;
  /** Dropped descriptors that still owe a sync, so close() can wait for them. */
  private readonly retiring = new Set<Promise<void>>();

  private constructor(
    readonly path: string,
    private readonly lockOptions: LockOptions,
    private readonly fdatasync: Fdatasync,
  ) {}

  /** Opens (creating it 0600, parents 0700) and reads the tail, so a bad path fails at startup. */
  static open(file: string, options: AuditLogOptions = {}): AuditLog {
    const resolved = path.resolve(file);
    const lockOptions = { timeoutMs: options.lockTimeoutMs ?? DEFAULT_LOCK_TIMEOUT_MS, staleAfterMs: LOCK_STALE_AFTER_MS };
    // fdatasync also flushes the new file size (needed to read the data back), skipping only
    // timestamps: durable for appends, and markedly cheaper than fsync.
    const audit = new AuditLog(resolved, lockOptions, options.fdatasync ?? fs.fdatasync);
    audit.underLock(
      () => audit.syncWithFile(),
      (cause) => new AuditError('AUDIT_WRITE_FAILED', `cannot open audit log ${resolved}: ${cause}`),
    );
    return audit;
  }

  /**
   * The newest record this instance wrote or read, durable or not yet; other processes may have
   * appended since.
   */
  get head(): AuditHead {
    return this.last;
  }

  async append(event: AuditEvent): Promise<AuditRecord> {
    const { record, file } = this.underLock((lock) => {
      const sizeBefore = this.syncWithFile();
      const file = this.file!;
      const sealed = this.seal(event);
      const bytes = Buffer.from(`${canonicalJson(sealed)}\n`);
      // The tail read above is only the true tail if no one else could append since.
      lock.assertHeld();
      this.write(file.fd, bytes, sizeBefore);
      this.sizeAfterLastWrite = sizeBefore + bytes.length;
      this.last = { seq: sealed.seq, hash: sealed.hash };
      return { record: sealed, file };
    }, auditUnavailable);
    try {
      await file.synced();
    } catch {
      throw auditUnavailable();
    }
    return record;
  }

  async close(): Promise<void> {
    this.closed = true;
    this.closeFile();
    await Promise.all(this.retiring);
  }

  private underLock<T>(work: (lock: HeldLock) => T, failure: (cause: string) => AuditError): T {
    if (this.closed) throw failure('audit log is closed');
    try {
      if (this.file === undefined) fs.mkdirSync(path.dirname(this.path), { recursive: true, mode: 0o700 });
      return withLockSync(`${this.path}.lock`, this.lockOptions, work);
    } catch (err) {
      this.closeFile();
      log.error('audit log write failed', { file: this.path, error: describeError(err) });
      throw failure(describeError(err));
    }
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
    if (size !== this.sizeAfterLastWrite) this.last = headOf(readLastLine(fd, size));
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

  private seal(event: AuditEvent): AuditRecord {
    const { value: clean, hits } = scrubSecrets(event, 'redact');
    if (hits.length > 0) log.warn('secret-looking values redacted from an audit record', { fields: hits });
    const normalized = clean.event === 'tool_call' || clean.event === 'tool_intent' ? { ...clean, policies: [...clean.policies].sort() } : clean;
    const unhashed = {
      ...normalized,
      iface: 'mcp' as const,
      seq: this.last.seq + 1,
      timestamp: new Date().toISOString(),
      prev_hash: this.last.hash,
    };
    return { ...unhashed, hash: recordHash(unhashed) };
  }

  private write(fd: number, bytes: Buffer, sizeBefore: number): void {
    try {
      for (let written = 0; written < bytes.length; ) written += fs.writeSync(fd, bytes, written, bytes.length - written);
    } catch (err) {
      this.removePartialRecord(fd, sizeBefore);
      throw err;
    }
  }

  /** We still hold the lock, so everything past sizeBefore is ours. */
  private removePartialRecord(fd: number, sizeBefore: number): void {
    try {
      if (fs.fstatSync(fd).size > sizeBefore) fs.ftruncateSync(fd, sizeBefore);
    } catch (err) {
      log.error('could not remove a partially written audit record; appends fail until the file is repaired', {
        file: this.path,
        error: describeError(err),
      });
    }
  }

  private closeFile(): void {
    if (this.file !== undefined) {
      const closed = this.file.retire();
      this.retiring.add(closed);
      void closed.then(() => this.retiring.delete(closed));
    }
    this.file = undefined;
    this.sizeAfterLastWrite = -1;
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

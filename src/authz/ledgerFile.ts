import { createHash } from 'node:crypto';
import { closeSync, fdatasync, fstatSync, ftruncateSync, openSync, readFileSync, statSync, writeSync, type BigIntStats } from 'node:fs';
import { promisify } from 'node:util';
import { writeFileAtomicAsync } from '../shared/atomicFile.js';
import { describeError } from '../shared/errors.js';
import { log } from '../shared/log.js';
import { parseState, type LedgerState } from './ledgerState.js';

/**
 * How a key's ledger state is stored: a file of records, each the whole state after one write,
 * as the line `<state JSON>\t<16 hex digits of its SHA-256>\n`. The last record is the state.
 *
 * Why records and not a file replaced on each write: replacing (temp file, rename, directory
 * fsync) costs several directory updates per write, and those, not the data, bound how many
 * trades per second the ledger can take. Appending a record in place and fdatasync'ing it costs
 * one data write; the file is replaced only when created, when it has grown past
 * COMPACT_AT_BYTES, or when it is in the pre-record format.
 *
 * What a crash can leave: only the record being appended can be incomplete, as a key's writer
 * holds its lock and removes a damaged tail before it appends. So a last record that is cut off
 * or fails its checksum is a write that was never confirmed, and is ignored; a reader without
 * the lock may likewise see a record still being written, and ignore it. Anything else that does
 * not read is a damaged file, and fails closed. A new file is created complete (atomically), so
 * a file always holds at least one whole record.
 */
export const COMPACT_AT_BYTES = 64 * 1024;

const fdatasyncAsync = promisify(fdatasync);
const NEWLINE = 0x0a;
const TAB = 0x09;

export interface StoredLedger {
  readonly state: LedgerState;
  /** Bytes of the file up to the end of the record read: where the next record goes. */
  readonly end: number;
  /** The file is in the single-JSON format of earlier versions; the next write replaces it. */
  readonly legacy: boolean;
}

/** One record, ready to append or to write as a new file. */
export function encodeRecord(state: LedgerState): Buffer {
  const json = JSON.stringify(state);
  return Buffer.from(`${json}\t${checksum(json)}\n`);
}

/** Reads a ledger file's bytes (see the module comment); throws if they cannot be trusted. */
export function decodeLedgerFile(bytes: Buffer, keyId: string): StoredLedger {
  const lastNewline = bytes.lastIndexOf(NEWLINE);
  if (lastNewline === -1) {
    // No whole record: the format of earlier versions, one JSON document, or damage.
    return { state: parseState(bytes.toString('utf8'), keyId), end: bytes.length, legacy: true };
  }
  const start = lineStart(bytes, lastNewline);
  const last = readRecord(bytes.subarray(start, lastNewline));
  // Bytes after the last newline are a record cut off: it may only be followed by nothing.
  if (last !== undefined) return { state: parseState(last, keyId), end: lastNewline + 1, legacy: false };
  // A whole line that does not check out is the unconfirmed last write only if nothing follows it.
  if (lastNewline === bytes.length - 1 && start > 0) {
    const previousStart = lineStart(bytes, start - 1);
    const previous = readRecord(bytes.subarray(previousStart, start - 1));
    if (previous !== undefined) return { state: parseState(previous, keyId), end: start, legacy: false };
  }
  throw new Error('ledger state file is malformed');
}

/** Where the line ending at the newline `newlineAt` begins. */
function lineStart(bytes: Buffer, newlineAt: number): number {
  // A negative offset would search from the end of the buffer.
  return newlineAt === 0 ? 0 : bytes.lastIndexOf(NEWLINE, newlineAt - 1) + 1;
}

/** The JSON of a line whose checksum matches, else undefined. */
function readRecord(line: Buffer): string | undefined {
  const tab = line.lastIndexOf(TAB);
  if (tab === -1) return undefined;
  const json = line.subarray(0, tab).toString('utf8');
  return line.subarray(tab + 1).toString('latin1') === checksum(json) ? json : undefined;
}

function checksum(json: string): string {
  return createHash('sha256').update(json).digest('hex').slice(0, 16);
}

/**
 * A key's state file, open while its writer holds the key's lock: the state it read, and where
 * the next record goes. Kept across batches while the lock is kept, as long as the file at the
 * path is still the one it left (a writer ignoring the lock, or an operator, may replace it).
 */
export class KeyStateFile {
  private constructor(
    readonly path: string,
    private fd: number | undefined,
    /** The state as last read or written; undefined: there is no file yet. */
    private current: LedgerState | undefined,
    private end: number,
    private size: number,
    private legacy: boolean,
    private stat: BigIntStats | undefined,
  ) {}

  /** Reads the key's file under its lock; throws if it cannot be trusted. */
  static open(path: string, keyId: string): KeyStateFile {
    let fd: number;
    try {
      fd = openSync(path, 'r+');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return new KeyStateFile(path, undefined, undefined, 0, 0, false, undefined);
      throw err;
    }
    try {
      const bytes = readFileSync(fd);
      const { state, end, legacy } = decodeLedgerFile(bytes, keyId);
      return new KeyStateFile(path, fd, state, end, bytes.length, legacy, fstatSync(fd, { bigint: true }));
    } catch (err) {
      closeSync(fd);
      throw err;
    }
  }

  get state(): LedgerState | undefined {
    return this.current;
  }

  /** Whether the path still holds the file as this left it (same inode, size and change time). */
  unchanged(): boolean {
    const now = statSync(this.path, { bigint: true, throwIfNoEntry: false });
    if (this.stat === undefined) return now === undefined;
    return now !== undefined && now.ino === this.stat.ino && now.size === this.stat.size && now.ctimeNs === this.stat.ctimeNs;
  }

  /**
   * Stores `state` durably, under the key's lock: appended as a record (cutting off an
   * unconfirmed tail first), or as a new file when there is none, it is in the old format, or
   * the record would take it past COMPACT_AT_BYTES. On failure an appended record is cut off
   * again, so a failed write changes nothing that others could read; the instance is then
   * unusable (close it).
   */
  async write(state: LedgerState): Promise<void> {
    const record = encodeRecord(state);
    if (this.fd === undefined || this.legacy || this.end + record.length > COMPACT_AT_BYTES) {
      this.close();
      await writeFileAtomicAsync(this.path, record, 0o600);
      this.fd = openSync(this.path, 'r+');
      this.end = this.size = record.length;
      this.legacy = false;
    } else {
      await appendAt(this.fd, this.end, this.size, record);
      this.end = this.size = this.end + record.length;
    }
    this.stat = fstatSync(this.fd, { bigint: true });
    this.current = state;
  }

  /** Never throws: it runs in `finally` blocks and lease callbacks, which must not be cut short. */
  close(): void {
    const fd = this.fd;
    this.fd = undefined;
    this.stat = undefined;
    if (fd === undefined) return;
    try {
      closeSync(fd);
    } catch (err) {
      log.error('ledger: could not close a state file', { error: describeError(err) });
    }
  }
}

async function appendAt(fd: number, end: number, size: number, record: Buffer): Promise<void> {
  if (size > end) ftruncateSync(fd, end);
  try {
    for (let done = 0; done < record.length; ) done += writeSync(fd, record, done, record.length - done, end + done);
    await fdatasyncAsync(fd);
  } catch (err) {
    try {
      ftruncateSync(fd, end);
    } catch (undo) {
      // The record may then be read as the state although the batch's operations were denied: a
      // commit among them is applied again by the next write (over-counting, the safe side), but
      // a refund that its caller retries would be applied twice: refunds carry no id by which a
      // retry could be recognised.
      log.error('ledger: could not remove a record whose write failed', { error: describeError(undo) });
    }
    throw err;
  }
}

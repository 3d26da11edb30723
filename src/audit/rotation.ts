import fs from 'node:fs';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import { fsyncDirectory } from '../shared/atomicFile.js';
import { describeError } from '../shared/errors.js';
import { log } from '../shared/log.js';

/**
 * Rotation of the audit file (`--audit-max-size`, `--audit-rotate daily`, `--audit-keep`,
 * `--audit-gzip`). A full file is renamed to FILE.N, N one above the highest number in use, so
 * names never shift: FILE.1 is the oldest, FILE the newest, and a shipper or an operator can
 * rely on a name once it exists. The chain simply continues in the new FILE (its first record's
 * prev_hash is the last hash of FILE.N), so `futucli audit verify --with-rotated FILE` checks
 * them all as one chain. Closed files may be gzipped (FILE.N.gz) and the oldest deleted beyond
 * `keep`.
 */
export interface RotationOptions {
  /** Rotate once the file holds at least this many bytes. */
  readonly maxBytes?: number;
  /** Rotate when the file's first record is from an earlier UTC day than the record being written. */
  readonly daily?: boolean;
  /** Rotated files kept (the newest); older ones are deleted. Unbounded when absent. */
  readonly keep?: number;
  /** gzip each rotated file, off the request path, once every sync owed to it has settled. */
  readonly gzip?: boolean;
}

const ROTATED_SUFFIX = /^\.(\d+)(\.gz)?$/;

export interface RotatedFile {
  readonly number: number;
  readonly path: string;
}

/** FILE.N and FILE.N.gz next to `file`, oldest (lowest N) first; a number present both ways counts once (the plain file, mid-compression). */
export function rotatedFiles(file: string): RotatedFile[] {
  const dir = path.dirname(file);
  const base = path.basename(file);
  const byNumber = new Map<number, string>();
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch {
    return [];
  }
  for (const name of names) {
    if (!name.startsWith(base)) continue;
    const match = ROTATED_SUFFIX.exec(name.slice(base.length));
    if (!match) continue;
    const number = Number(match[1]);
    if (!Number.isSafeInteger(number) || number < 1) continue;
    if (!byNumber.has(number) || match[2] === undefined) byNumber.set(number, path.join(dir, name));
  }
  return [...byNumber.entries()].sort((a, b) => a[0] - b[0]).map(([number, file]) => ({ number, path: file }));
}

/** The UTC day (YYYY-MM-DD) of the first record in the file, or undefined when it is empty or unreadable. */
export function firstRecordDay(fd: number): string | undefined {
  const buf = Buffer.alloc(4096);
  const n = fs.readSync(fd, buf, 0, buf.length, 0);
  const match = /"timestamp":"(\d{4}-\d{2}-\d{2})T/.exec(buf.subarray(0, n).toString('utf8').split('\n', 1)[0] ?? '');
  return match?.[1];
}

export class Rotator {
  /** Compressions still running, so close() can wait for them. */
  private readonly compressing = new Set<Promise<void>>();

  constructor(
    private readonly file: string,
    readonly options: RotationOptions,
  ) {}

  /** Whether the file, `size` bytes long and begun on `fileDay`, is due before a record of `today` is added. */
  due(size: number, fileDay: string | undefined, today: string): boolean {
    if (size === 0) return false;
    if (this.options.maxBytes !== undefined && size >= this.options.maxBytes) return true;
    return this.options.daily === true && fileDay !== undefined && fileDay < today;
  }

  /**
   * Renames the file to FILE.N; the caller holds the file's lock and opens a new file at the path.
   * Deletes the oldest rotated files beyond `keep`. Returns the rotated path.
   */
  rotate(): string {
    const existing = rotatedFiles(this.file);
    const next = (existing.at(-1)?.number ?? 0) + 1;
    const target = `${this.file}.${next}`;
    fs.renameSync(this.file, target);
    fsyncDirectory(path.dirname(this.file));
    log.info('audit log rotated', { file: this.file, rotated_to: target });
    this.applyRetention();
    return target;
  }

  /** Deletes the oldest rotated files beyond `keep`. */
  private applyRetention(): void {
    const keep = this.options.keep;
    if (keep === undefined) return;
    const all = rotatedFiles(this.file);
    for (const old of all.slice(0, Math.max(0, all.length - keep))) this.remove(old.number);
  }

  /** gzips `rotated` once `settled` resolves (its descriptor's syncs are done); never rejects. */
  compressLater(rotated: string, settled: Promise<void>): void {
    if (!this.options.gzip) return;
    const job = settled.then(() => compress(rotated)).catch((err: unknown) =>
      log.error('could not gzip a rotated audit file; it stays uncompressed', { file: rotated, error: describeError(err) }),
    );
    this.compressing.add(job);
    void job.finally(() => this.compressing.delete(job));
  }

  /**
   * Waits for the compressions under way, then applies the retention again: a .gz finished just
   * after its file was deleted for being too old would otherwise outlive the last rotation.
   */
  async idle(): Promise<void> {
    await Promise.all(this.compressing);
    this.applyRetention();
  }

  private remove(number: number): void {
    for (const victim of [`${this.file}.${number}`, `${this.file}.${number}.gz`]) {
      try {
        fs.rmSync(victim, { force: true });
      } catch (err) {
        log.warn('could not delete an old rotated audit file', { file: victim, error: describeError(err) });
      }
    }
    log.info('old rotated audit file deleted', { file: `${this.file}.${number}`, keep: this.options.keep });
  }
}

/**
 * FILE.N → FILE.N.gz: written to a temp name, synced, renamed, then FILE.N removed. A file that
 * --audit-keep deleted meanwhile (here or in another process) is left deleted; should its .gz
 * appear after all, the next rotation's retention pass deletes it by number.
 */
async function compress(rotated: string): Promise<void> {
  const temp = `${rotated}.gz.tmp`;
  try {
    await pipeline(fs.createReadStream(rotated), createGzip(), fs.createWriteStream(temp, { mode: 0o600, flags: 'wx' }));
  } catch (err) {
    await fs.promises.rm(temp, { force: true });
    if ((err as NodeJS.ErrnoException).code === 'ENOENT' && !fs.existsSync(rotated)) return;
    throw err;
  }
  if (!fs.existsSync(rotated)) {
    await fs.promises.rm(temp, { force: true });
    return;
  }
  const handle = await fs.promises.open(temp, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
  await fs.promises.rename(temp, `${rotated}.gz`);
  await fs.promises.rm(rotated, { force: true });
  fsyncDirectory(path.dirname(rotated));
}

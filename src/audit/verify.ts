import fs from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { describeError } from '../shared/errors.js';
import { canonicalJson, sha256Hex } from './canonical.js';
import { GENESIS_HASH, HASH_PATTERN, recordHash } from './chain.js';
import { AuditError } from './errors.js';
import { readLines, readLinesOfBuffer, type Line } from './lines.js';

export type VerifyResult =
  /**
   * from_seq: set when the chain was checked from a record after the first (older rotated files
   * deleted); replicas: the replica ids its records name, in order of first appearance (absent
   * when none does).
   */
  | { readonly ok: true; readonly records: number; readonly head: string; readonly from_seq?: number; readonly replicas?: readonly string[] }
  /** `file` is named when several files were verified as one chain. */
  | { readonly ok: false; readonly line: number; readonly reason: string; readonly file?: string };

export interface VerifyOptions {
  /**
   * A record hash noted earlier (e.g. from a previous verify or the server's shutdown log). The
   * chain alone cannot reveal records cut from the end of the file; requiring that this hash still
   * be in the file can. Later records after it are fine: the log keeps growing.
   */
  readonly expectHead?: string;
  /**
   * The first file may begin mid-chain, as after `--audit-keep` deleted the oldest rotated files:
   * its first record's seq and prev_hash are taken as given, everything after is checked.
   */
  readonly continued?: boolean;
  /** Told every PROGRESS_EVERY records, for progress on large files. */
  readonly onProgress?: (progress: VerifyProgress) => void;
}

export interface VerifyProgress {
  readonly file: string;
  /** Records checked so far, over all files. */
  readonly records: number;
}

const PROGRESS_EVERY = 100_000;

/** Where the chain stands after the records checked so far. */
interface ChainState {
  records: number;
  head: string;
  anchorSeen: boolean;
  /** The seq the next record must carry; 1 unless the chain was taken up mid-way. */
  nextSeq: number;
  /** Whether the next record may start the chain anywhere (continued logs, first record only). */
  takeUp: boolean;
  readonly replicas: Set<string>;
}

/**
 * Checks the whole chain: every line is canonical JSON, seq counts 1, 2, 3, ..., each prev_hash is
 * the previous record's hash (GENESIS_HASH first) and each hash recomputes. Several files are
 * checked as one chain, in the order given: a log the server carried on into a new file (after a
 * rotation, or after the file was removed) verifies only together with its predecessors. Throws
 * AuditError (AUDIT_READ_FAILED) only when a file can't be read at all.
 */
export function verifyAuditLog(files: string | readonly string[], options: VerifyOptions = {}): VerifyResult {
  const list = typeof files === 'string' ? [files] : files;
  const expectHead = options.expectHead?.toLowerCase();
  const state: ChainState = { records: 0, head: GENESIS_HASH, anchorSeen: expectHead === GENESIS_HASH, nextSeq: 1, takeUp: options.continued === true, replicas: new Set() };
  let fromSeq: number | undefined;
  for (const file of list) {
    const broken = withLines(file, (lines) =>
      verifyLines(lines, state, expectHead, (seq) => (fromSeq = seq), () => options.onProgress?.({ file, records: state.records })),
    );
    if (broken) return list.length > 1 ? { ...broken, file } : broken;
  }
  if (expectHead !== undefined && !state.anchorSeen) {
    return {
      ok: false,
      line: state.records + 1,
      reason: `expected head ${expectHead} is not in the log, which ends at seq ${state.nextSeq - 1} with head ${state.head}: records were cut from the end or the file was replaced`,
    };
  }
  return {
    ok: true,
    records: state.records,
    head: state.head,
    ...(fromSeq !== undefined && { from_seq: fromSeq }),
    ...(state.replicas.size > 0 && { replicas: [...state.replicas] }),
  };
}

/** Reads `file` (gunzipped when it ends in .gz: rotated files may be compressed) line by line. */
function withLines<T>(file: string, read: (lines: Iterable<Line>) => T): T {
  let fd: number;
  try {
    fd = fs.openSync(file, 'r');
  } catch (err) {
    throw new AuditError('AUDIT_READ_FAILED', `cannot read audit log: ${describeError(err)}`);
  }
  try {
    return read(file.endsWith('.gz') ? readLinesOfBuffer(gunzipSync(fs.readFileSync(fd))) : readLines(fd));
  } catch (err) {
    throw new AuditError('AUDIT_READ_FAILED', `cannot read audit log: ${describeError(err)}`);
  } finally {
    fs.closeSync(fd);
  }
}

/** Advances `state` over one file's lines; the first broken line, if any. */
function verifyLines(
  lines: Iterable<Line>,
  state: ChainState,
  expectHead: string | undefined,
  tookUpAt: (seq: number) => void,
  progress: () => void,
): { ok: false; line: number; reason: string } | undefined {
  for (const { number, text, terminated } of lines) {
    if (!terminated) return { ok: false, line: number, reason: 'incomplete record (no trailing newline): the write never finished or the file was cut' };
    if (text === null) return { ok: false, line: number, reason: 'not valid UTF-8' };
    if (state.takeUp) {
      state.takeUp = false;
      const start = chainStart(text);
      if (start !== undefined && start.seq > 1) {
        state.nextSeq = start.seq;
        state.head = start.prevHash;
        tookUpAt(start.seq);
      }
    }
    const checked = checkRecord(text, state.nextSeq, state.head);
    if (typeof checked === 'string') return { ok: false, line: number, reason: checked };
    state.records += 1;
    state.nextSeq += 1;
    state.head = checked.hash;
    if (checked.replica !== undefined) state.replicas.add(checked.replica);
    if (state.head === expectHead) state.anchorSeen = true;
    if (state.records % PROGRESS_EVERY === 0) progress();
  }
  return undefined;
}

/** seq and prev_hash of a record line, when it has both (else the normal check reports the line). */
function chainStart(text: string): { seq: number; prevHash: string } | undefined {
  try {
    const { seq, prev_hash: prevHash } = JSON.parse(text) as { seq?: unknown; prev_hash?: unknown };
    return Number.isSafeInteger(seq) && typeof prevHash === 'string' && HASH_PATTERN.test(prevHash) ? { seq: seq as number, prevHash } : undefined;
  } catch {
    return undefined;
  }
}

/** The record's hash and replica, or why the line breaks the chain. */
function checkRecord(text: string, expectedSeq: number, expectedPrev: string): { hash: string; replica?: string } | string {
  let record: unknown;
  try {
    record = JSON.parse(text);
  } catch {
    return 'not valid JSON';
  }
  if (typeof record !== 'object' || record === null || Array.isArray(record)) return 'not a JSON object';
  const fields = record as Record<string, unknown>;
  const replica = typeof fields.replica === 'string' ? fields.replica : undefined;
  if (isSealedLine(text, fields)) return chainProblem(fields, expectedSeq, expectedPrev) ?? { hash: fields.hash as string, replica };
  if (!isCanonical(fields, text)) return 'not in canonical form: the line was edited or reformatted';
  const problem = chainProblem(fields, expectedSeq, expectedPrev);
  if (problem !== undefined) return problem;
  if (typeof fields.hash !== 'string' || recordHash(fields) !== fields.hash) return 'hash does not match the record content: the record was altered';
  return { hash: fields.hash, replica };
}

/** Why the record's seq or prev_hash does not continue the chain, if it does not. */
function chainProblem(fields: Record<string, unknown>, expectedSeq: number, expectedPrev: string): string | undefined {
  if (expectedSeq === 1 && typeof fields.seq === 'number' && fields.seq > 1) {
    return `the chain starts at seq ${fields.seq}: it continues one whose earlier records are not here (the log was rotated, or the file holding them was removed or emptied); verify the files together, oldest first`;
  }
  if (fields.seq !== expectedSeq) return `seq is ${JSON.stringify(fields.seq)}, expected ${expectedSeq}: a record is missing, duplicated or out of order`;
  if (fields.prev_hash !== expectedPrev) {
    return expectedSeq === 1 ? 'prev_hash of the first record is not the genesis hash' : 'prev_hash does not match the hash of the previous record';
  }
  return undefined;
}

/**
 * The fast check of an intact line, without serializing the record again: the line with its
 * `"hash"` member cut out must hash to that member's value, and the member must sit where
 * canonical order puts it. The hash was taken over the canonical JSON of the record without
 * `hash`, so a match proves the rest of the line is exactly that canonical text (SHA-256
 * collision resistance), and with the member in place the whole line is canonical. Any other
 * line, intact in another way or not, takes the full check, which also names what is wrong.
 */
function isSealedLine(text: string, fields: Record<string, unknown>): boolean {
  const hash = fields.hash;
  if (typeof hash !== 'string' || !HASH_PATTERN.test(hash)) return false;
  const member = `"hash":"${hash}"`;
  const at = text.indexOf(member);
  const end = at + member.length;
  let unhashed: string;
  if (at > 1 && text[at - 1] === ',') unhashed = text.slice(0, at - 1) + text.slice(end);
  else if (at === 1 && text[end] === ',') unhashed = `{${text.slice(end + 1)}`;
  else return false;
  if (sha256Hex(unhashed) !== hash) return false;
  let next: string | undefined;
  for (const key in fields) if (key > 'hash' && (next === undefined || key < next)) next = key;
  return next === undefined ? text.length === end + 1 && text[end] === '}' : text.startsWith(`,${JSON.stringify(next)}:`, end);
}

function isCanonical(record: Record<string, unknown>, text: string): boolean {
  try {
    return canonicalJson(record) === text;
  } catch {
    return false;
  }
}

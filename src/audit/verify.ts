import fs from 'node:fs';
import { describeError } from '../shared/errors.js';
import { canonicalJson } from './canonical.js';
import { GENESIS_HASH, recordHash } from './chain.js';
import { AuditError } from './errors.js';
import { readLines } from './lines.js';

export type VerifyResult =
  | { readonly ok: true; readonly records: number; readonly head: string }
  | { readonly ok: false; readonly line: number; readonly reason: string };

export interface VerifyOptions {
  /**
   * A record hash noted earlier (e.g. from a previous verify or the server's shutdown log). The
   * chain alone cannot reveal records cut from the end of the file; requiring that this hash still
   * be in the file can. Later records after it are fine: the log keeps growing.
   */
  readonly expectHead?: string;
}

/**
 * Checks the whole chain: every line is canonical JSON, seq counts 1, 2, 3, ..., each prev_hash is
 * the previous record's hash (GENESIS_HASH first) and each hash recomputes. Throws AuditError
 * (AUDIT_READ_FAILED) only when the file can't be read at all.
 */
export function verifyAuditLog(file: string, options: VerifyOptions = {}): VerifyResult {
  let fd: number;
  try {
    fd = fs.openSync(file, 'r');
  } catch (err) {
    throw new AuditError('AUDIT_READ_FAILED', `cannot read audit log: ${describeError(err)}`);
  }
  try {
    return verifyLines(fd, options.expectHead?.toLowerCase());
  } catch (err) {
    throw new AuditError('AUDIT_READ_FAILED', `cannot read audit log: ${describeError(err)}`);
  } finally {
    fs.closeSync(fd);
  }
}

function verifyLines(fd: number, expectHead: string | undefined): VerifyResult {
  let records = 0;
  let head = GENESIS_HASH;
  let anchorSeen = expectHead === GENESIS_HASH;
  for (const { number, text, terminated } of readLines(fd)) {
    if (!terminated) return { ok: false, line: number, reason: 'incomplete record (no trailing newline): the write never finished or the file was cut' };
    if (text === null) return { ok: false, line: number, reason: 'not valid UTF-8' };
    const checked = checkRecord(text, records + 1, head);
    if (typeof checked === 'string') return { ok: false, line: number, reason: checked };
    records += 1;
    head = checked.hash;
    if (head === expectHead) anchorSeen = true;
  }
  if (expectHead !== undefined && !anchorSeen) {
    return {
      ok: false,
      line: records + 1,
      reason: `expected head ${expectHead} is not in the log, which ends at seq ${records} with head ${head}: records were cut from the end or the file was replaced`,
    };
  }
  return { ok: true, records, head };
}

/** The record's hash, or why the line breaks the chain. */
function checkRecord(text: string, expectedSeq: number, expectedPrev: string): { hash: string } | string {
  let record: unknown;
  try {
    record = JSON.parse(text);
  } catch {
    return 'not valid JSON';
  }
  if (typeof record !== 'object' || record === null || Array.isArray(record)) return 'not a JSON object';
  const fields = record as Record<string, unknown>;
  if (!isCanonical(fields, text)) return 'not in canonical form: the line was edited or reformatted';
  if (fields.seq !== expectedSeq) return `seq is ${JSON.stringify(fields.seq)}, expected ${expectedSeq}: a record is missing, duplicated or out of order`;
  if (fields.prev_hash !== expectedPrev) {
    return expectedSeq === 1 ? 'prev_hash of the first record is not the genesis hash' : 'prev_hash does not match the hash of the previous record';
  }
  if (typeof fields.hash !== 'string' || recordHash(fields) !== fields.hash) return 'hash does not match the record content: the record was altered';
  return { hash: fields.hash };
}

function isCanonical(record: Record<string, unknown>, text: string): boolean {
  try {
    return canonicalJson(record) === text;
  } catch {
    return false;
  }
}

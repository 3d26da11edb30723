import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { AuditLog, AuditError, GENESIS_HASH, verifyAuditLog } from '../../src/audit/index.js';
import { canonicalJson } from '../../src/audit/canonical.js';
import { recordHash } from '../../src/audit/chain.js';
import { fileLines, fileRecords, readCall, rejectedOrder, systemEvent, tempDir, writeLines } from './fixtures.js';

/** A log of `count` records mixing calls and system events; returns the file and its final head. */
async function buildLog(dir: string, count: number): Promise<{ file: string; head: string }> {
  const file = path.join(dir, 'audit.jsonl');
  const audit = AuditLog.open(file);
  await audit.append(systemEvent({ event: 'startup' }));
  for (let i = 1; i < count; i++) await audit.append(i % 3 === 0 ? rejectedOrder({ session_id: `s${i}` }) : readCall({ latency_ms: i / 7 }));
  const head = audit.head.hash;
  await audit.close();
  return { file, head };
}

function tampered(value: unknown): unknown {
  if (typeof value === 'number') return value + 1;
  if (typeof value === 'string') return /^[0-9a-f]{64}$/.test(value) ? value.slice(0, -1) + (value.endsWith('0') ? '1' : '0') : `${value}x`;
  if (Array.isArray(value)) return [...(value as unknown[]), 'extra'];
  if (value === null) return 'now-set';
  throw new Error(`no tampering rule for ${JSON.stringify(value)}`);
}

test('a long log written by AuditLog verifies, and its head is the last hash', async (t) => {
  const { file, head } = await buildLog(tempDir(t), 300);
  assert.deepEqual(verifyAuditLog(file), { ok: true, records: 300, head });
  const records = fileRecords(file);
  assert.equal(records[0]!.prev_hash, GENESIS_HASH);
  assert.equal(records[299]!.hash, head);
  assert.deepEqual(records.map((r) => r.seq), Array.from({ length: 300 }, (_, i) => i + 1));
});

test('changing any field of any line is detected at that line', async (t) => {
  const { file } = await buildLog(tempDir(t), 4);
  const original = fileLines(file);
  let cases = 0;
  original.forEach((line, index) => {
    const record = JSON.parse(line) as Record<string, unknown>;
    for (const field of Object.keys(record)) {
      const edited = [...original];
      edited[index] = canonicalJson({ ...record, [field]: tampered(record[field]) });
      writeLines(file, edited);
      const result = verifyAuditLog(file);
      assert.equal(result.ok, false, `${field} on line ${index + 1}`);
      assert.equal(!result.ok && result.line, index + 1, `${field} on line ${index + 1}`);
      cases += 1;
    }
  });
  // 4 records: a system event (10 fields) and three tool calls (19 fields each).
  assert.equal(cases, 67);
});

test('adding or removing a field is detected at that line', async (t) => {
  const { file } = await buildLog(tempDir(t), 3);
  const original = fileLines(file);
  const record = JSON.parse(original[1]!) as Record<string, unknown>;
  const { reason: _dropped, ...withoutReason } = record;
  for (const edit of [{ ...record, note: 'added' }, withoutReason]) {
    writeLines(file, [original[0]!, canonicalJson(edit), original[2]!]);
    assert.deepEqual(verifyAuditLog(file), { ok: false, line: 2, reason: 'hash does not match the record content: the record was altered' });
  }
});

test('an edited record with a recomputed hash breaks the link at the next line', async (t) => {
  const { file } = await buildLog(tempDir(t), 5);
  const lines = fileLines(file);
  const rejection = JSON.parse(lines[3]!) as Record<string, unknown>;
  assert.equal(rejection.outcome, 'reject');
  const forged = { ...rejection, outcome: 'success', decision: 'allow' };
  lines[3] = canonicalJson({ ...forged, hash: recordHash(forged) });
  writeLines(file, lines);
  assert.deepEqual(verifyAuditLog(file), { ok: false, line: 5, reason: 'prev_hash does not match the hash of the previous record' });
});

test('a deleted middle line, a deleted first line and swapped lines are detected', async (t) => {
  const { file } = await buildLog(tempDir(t), 6);
  const lines = fileLines(file);

  writeLines(file, lines.filter((_, i) => i !== 3));
  assert.deepEqual(verifyAuditLog(file), { ok: false, line: 4, reason: 'seq is 5, expected 4: a record is missing, duplicated or out of order' });

  writeLines(file, lines.slice(1));
  assert.deepEqual(verifyAuditLog(file), {
    ok: false,
    line: 1,
    reason:
      'the chain starts at seq 2: it continues one whose earlier records are not here (the log was rotated, or the file holding them was removed or emptied); verify the files together, oldest first',
  });

  writeLines(file, [lines[0]!, lines[2]!, lines[1]!, ...lines.slice(3)]);
  assert.deepEqual(verifyAuditLog(file), { ok: false, line: 2, reason: 'seq is 3, expected 2: a record is missing, duplicated or out of order' });
});

test('records cut from the end pass the chain check but not --expect-head', async (t) => {
  const { file, head } = await buildLog(tempDir(t), 6);
  const lines = fileLines(file);
  writeLines(file, lines.slice(0, 4));
  const cutHead = (JSON.parse(lines[3]!) as { hash: string }).hash;
  assert.deepEqual(verifyAuditLog(file), { ok: true, records: 4, head: cutHead });
  const result = verifyAuditLog(file, { expectHead: head });
  assert.equal(result.ok, false);
  assert.equal(!result.ok && result.line, 5);
  assert.match(!result.ok ? result.reason : '', new RegExp(`expected head ${head} is not in the log, which ends at seq 4 with head ${cutHead}`));
});

test('--expect-head accepts a log that grew after the anchor was taken', async (t) => {
  const dir = tempDir(t);
  const { file, head } = await buildLog(dir, 3);
  const audit = AuditLog.open(file);
  await audit.append(readCall());
  const grownHead = audit.head.hash;
  await audit.close();
  assert.deepEqual(verifyAuditLog(file, { expectHead: head.toUpperCase() }), { ok: true, records: 4, head: grownHead });
});

test('a reformatted line, a partial last line and invalid UTF-8 are reported', async (t) => {
  const { file } = await buildLog(tempDir(t), 3);
  const lines = fileLines(file);

  writeLines(file, [lines[0]!, JSON.stringify(JSON.parse(lines[1]!), null, 1).replace(/\n/g, ''), lines[2]!]);
  assert.deepEqual(verifyAuditLog(file), { ok: false, line: 2, reason: 'not in canonical form: the line was edited or reformatted' });

  fs.writeFileSync(file, `${lines[0]}\n${lines[1]}\n${lines[2]!.slice(0, 40)}`);
  const partial = verifyAuditLog(file);
  assert.equal(!partial.ok && partial.line, 3);
  assert.match(!partial.ok ? partial.reason : '', /incomplete record/);

  fs.writeFileSync(file, Buffer.concat([Buffer.from(`${lines[0]}\n`), Buffer.from([0xc3, 0x28, 0x0a])]));
  assert.deepEqual(verifyAuditLog(file), { ok: false, line: 2, reason: 'not valid UTF-8' });

  writeLines(file, [lines[0]!, 'not json']);
  assert.deepEqual(verifyAuditLog(file), { ok: false, line: 2, reason: 'not valid JSON' });
});

test('a record whose content is intact but whose hash member was moved, or with a key after it reordered, is not canonical', async (t) => {
  const { file } = await buildLog(tempDir(t), 3);
  const lines = fileLines(file);
  const record = JSON.parse(lines[1]!) as Record<string, unknown>;
  const { hash, ...rest } = record;
  // hash moved to the end: every other byte as sealed.
  const moved = `${canonicalJson(rest).slice(0, -1)},"hash":${JSON.stringify(hash)}}`;
  writeLines(file, [lines[0]!, moved, lines[2]!]);
  assert.deepEqual(verifyAuditLog(file), { ok: false, line: 2, reason: 'not in canonical form: the line was edited or reformatted' });
  // hash moved to the front.
  writeLines(file, [lines[0]!, `{"hash":${JSON.stringify(hash)},${canonicalJson(rest).slice(1)}`, lines[2]!]);
  assert.deepEqual(verifyAuditLog(file), { ok: false, line: 2, reason: 'not in canonical form: the line was edited or reformatted' });
  // The same hash value planted in another field does not make an altered line pass.
  writeLines(file, [lines[0]!, lines[1]!.replace('"code":', `"code2":"x","hash2":${JSON.stringify(hash)},"code":`), lines[2]!]);
  assert.equal(verifyAuditLog(file).ok, false);
});

test('a log spanning many read chunks, with one invalid UTF-8 line deep inside, is reported at that line', async (t) => {
  const { file } = await buildLog(tempDir(t), 4000);
  assert.equal(verifyAuditLog(file).ok, true);
  const lines = fileLines(file);
  const bytes = Buffer.concat([Buffer.from(lines.slice(0, 3500).join('\n') + '\n'), Buffer.from([0xc3, 0x28, 0x0a]), Buffer.from(lines.slice(3501).join('\n') + '\n')]);
  fs.writeFileSync(file, bytes);
  assert.deepEqual(verifyAuditLog(file), { ok: false, line: 3501, reason: 'not valid UTF-8' });
});

test('an empty log verifies with the genesis head; a missing file is a read error', (t) => {
  const dir = tempDir(t);
  const empty = path.join(dir, 'empty.jsonl');
  fs.writeFileSync(empty, '');
  assert.deepEqual(verifyAuditLog(empty), { ok: true, records: 0, head: GENESIS_HASH });
  assert.throws(
    () => verifyAuditLog(path.join(dir, 'absent.jsonl')),
    (err: unknown) => err instanceof AuditError && err.code === 'AUDIT_READ_FAILED' && /ENOENT/.test(err.message),
  );
});

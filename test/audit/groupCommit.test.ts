import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { AuditLog, verifyAuditLog } from '../../src/audit/index.js';
import { canonicalJson } from '../../src/audit/canonical.js';
import { setLogSink } from '../../src/shared/log.js';
import { batchWritten, fileLines, HeldSyncs, isDeniedCall, readCall, state, tempDir } from './fixtures.js';

function descriptorIsOpen(fd: number): boolean {
  try {
    fs.fstatSync(fd);
    return true;
  } catch (err) {
    assert.equal((err as NodeJS.ErrnoException).code, 'EBADF');
    return false;
  }
}

test('200 concurrent appends all resolve, in call order, into one verifiable chain', async (t) => {
  const file = path.join(tempDir(t), 'audit.jsonl');
  const audit = AuditLog.open(file);
  t.after(() => audit.close());

  const records = await Promise.all(Array.from({ length: 200 }, (_, i) => audit.append(readCall({ latency_ms: i }))));

  assert.deepEqual(records.map((r) => r.seq), Array.from({ length: 200 }, (_, i) => i + 1));
  assert.deepEqual(records.map((r) => r.event === 'tool_call' && r.latency_ms), Array.from({ length: 200 }, (_, i) => i));
  assert.deepEqual(fileLines(file), records.map((r) => canonicalJson(r)));
  assert.deepEqual(verifyAuditLog(file), { ok: true, records: 200, head: records[199]!.hash });
});

test('concurrent appends share fdatasync calls instead of paying one each', async (t) => {
  const file = path.join(tempDir(t), 'audit.jsonl');
  let syncs = 0;
  const audit = AuditLog.open(file, {
    fdatasync: (fd, done) => {
      syncs += 1;
      fs.fdatasync(fd, done);
    },
  });
  t.after(() => audit.close());

  await Promise.all(Array.from({ length: 200 }, () => audit.append(readCall())));

  // Issued in one turn, the 200 records are one batch: one write, settled by one sync.
  assert.equal(syncs, 1);
  assert.equal(verifyAuditLog(file).ok, true);
});

test('an append resolves only after a sync that started after its write has completed', async (t) => {
  const file = path.join(tempDir(t), 'audit.jsonl');
  const syncs = new HeldSyncs();
  const audit = AuditLog.open(file, { fdatasync: syncs.fdatasync });
  t.after(() => audit.close());

  const first = audit.append(readCall());
  await batchWritten();
  assert.equal(syncs.calls, 1);
  assert.equal(await state(first), 'pending', 'resolved before its sync completed');

  const second = audit.append(readCall());
  await batchWritten();
  assert.equal(syncs.calls, 1, 'a sync is already running: the second record must wait for the next one');
  syncs.release();
  assert.equal((await first).seq, 1);
  assert.equal(syncs.calls, 2, 'the next sync starts as soon as the running one ends');
  assert.equal(await state(second), 'pending', 'covered by a sync that started before its write');

  syncs.release();
  assert.equal((await second).seq, 2);
});

test('a failed sync denies every record waiting on the descriptor; the next append chains onto the file\'s tail', async (t) => {
  const file = path.join(tempDir(t), 'audit.jsonl');
  const syncs = new HeldSyncs();
  const audit = AuditLog.open(file, { fdatasync: syncs.fdatasync });
  t.after(() => audit.close());
  const errors: string[] = [];
  setLogSink((line) => {
    const entry = JSON.parse(line) as { level: string; msg: string; records?: number };
    if (entry.level === 'error') errors.push(`${entry.msg} (${entry.records})`);
  });
  t.after(() => setLogSink((line) => process.stderr.write(`${line}\n`)));

  const durable = audit.append(readCall());
  await batchWritten();
  const sharingTheFailedSync = [audit.append(readCall()), audit.append(readCall()), audit.append(readCall())];
  await batchWritten();
  syncs.release();
  await durable;
  const writtenDuringTheFailedSync = [audit.append(readCall()), audit.append(readCall())];
  await batchWritten();
  const failedFd = syncs.fds[1]!;
  syncs.fail();

  for (const denied of [...sharingTheFailedSync, ...writtenDuringTheFailedSync]) await assert.rejects(denied, isDeniedCall);
  assert.deepEqual(errors, ['audit log sync failed; the calls waiting on it are denied (5)']);
  assert.equal(syncs.calls, 2, 'nothing may be confirmed by a later sync on the descriptor that reported the error');
  assert.equal(descriptorIsOpen(failedFd), false);

  // The denied lines stayed in the file (a lost writeback would have dropped them, and the tail with them).
  const next = audit.append(readCall());
  await batchWritten();
  syncs.release();
  const record = await next;
  assert.equal(record.seq, 7);
  assert.equal(record.prev_hash, (JSON.parse(fileLines(file)[5]!) as { hash: string }).hash);
  assert.deepEqual(verifyAuditLog(file), { ok: true, records: 7, head: record.hash });
});

test('the lock is not held across the sync: another writer appends while one is running', async (t) => {
  const file = path.join(tempDir(t), 'audit.jsonl');
  const syncs = new HeldSyncs();
  const slow = AuditLog.open(file, { fdatasync: syncs.fdatasync });
  t.after(() => slow.close());

  const waiting = slow.append(readCall({ tool: 'slow' }));
  const other = AuditLog.open(file, { lockTimeoutMs: 200 });
  t.after(() => other.close());
  const chained = await other.append(readCall({ tool: 'other' }));
  assert.equal(chained.seq, 2);

  syncs.release();
  assert.equal((await waiting).seq, 1);
  assert.deepEqual(verifyAuditLog(file), { ok: true, records: 2, head: chained.hash });
});

test('close waits for the syncs owed to earlier appends, then closes the descriptor; later appends are denied', async (t) => {
  const file = path.join(tempDir(t), 'audit.jsonl');
  const syncs = new HeldSyncs();
  const audit = AuditLog.open(file, { fdatasync: syncs.fdatasync });

  const pending = audit.append(readCall());
  const closing = audit.close();
  await assert.rejects(audit.append(readCall()), isDeniedCall);
  assert.equal(await state(closing), 'pending', 'closed while a sync was still owed');
  assert.equal(descriptorIsOpen(syncs.fds[0]!), true);

  // Runs the real fdatasync on that descriptor: had close() already closed it, this fails with EBADF.
  syncs.release();
  assert.equal((await pending).seq, 1);
  await closing;
  assert.equal(descriptorIsOpen(syncs.fds[0]!), false);
  assert.equal(verifyAuditLog(file).ok, true);
  assert.equal(fileLines(file).length, 1);
});

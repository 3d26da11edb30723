import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { hostname } from 'node:os';
import { spawnSync } from 'node:child_process';
import { AuditLog, AuditError, GENESIS_HASH, verifyAuditLog } from '../../src/audit/index.js';
import { canonicalJson } from '../../src/audit/canonical.js';
import { recordHash } from '../../src/audit/chain.js';
import { fileLines, fileRecords, isDeniedCall, lockReleased, readCall, rejectedOrder, shortWriteThenEnospc, systemEvent, tempDir } from './fixtures.js';

test('append writes one canonical line with the chain fields filled in', async (t) => {
  const file = path.join(tempDir(t), 'logs', 'nested', 'audit.jsonl');
  const audit = AuditLog.open(file);
  t.after(() => audit.close());
  const record = await audit.append(readCall({ policies: ['zeta', 'alpha', 'mid'] }));

  const [line] = fileLines(file);
  assert.equal(line, canonicalJson(record));
  assert.equal(record.seq, 1);
  assert.equal(record.iface, 'mcp');
  assert.equal(record.prev_hash, GENESIS_HASH);
  assert.equal(record.hash, recordHash(record as unknown as Record<string, unknown>));
  assert.match(record.timestamp, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  assert.deepEqual(record.event === 'tool_call' && record.policies, ['alpha', 'mid', 'zeta']);
  assert.deepEqual(audit.head, { seq: 1, hash: record.hash });
  assert.equal(fs.statSync(file).mode & 0o777, 0o600);
  assert.equal(fs.statSync(path.dirname(file)).mode & 0o777, 0o700);
});

test('an existing log readable by others is tightened to 0600', async (t) => {
  const file = path.join(tempDir(t), 'audit.jsonl');
  fs.writeFileSync(file, '', { mode: 0o644 });
  await AuditLog.open(file).close();
  assert.equal(fs.statSync(file).mode & 0o777, 0o600);
});

test('tool calls and system events share one chain, and seq continues after reopening', async (t) => {
  const file = path.join(tempDir(t), 'audit.jsonl');
  const first = AuditLog.open(file);
  await first.append(systemEvent({ event: 'startup', policy_version: 'v1' }));
  await first.append(readCall());
  const lastOfFirstRun = await first.append(rejectedOrder());
  await first.close();

  const second = AuditLog.open(file);
  t.after(() => second.close());
  assert.deepEqual(second.head, { seq: 3, hash: lastOfFirstRun.hash });
  const reload = await second.append(systemEvent({ event: 'reload', outcome: 'failure', reason: 'policy parse error', code: 'POLICY_INVALID' }));
  assert.equal(reload.seq, 4);
  assert.equal(reload.prev_hash, lastOfFirstRun.hash);
  assert.deepEqual(verifyAuditLog(file), { ok: true, records: 4, head: reload.hash });
});

test('two instances on one file chain onto each other\'s records', async (t) => {
  const file = path.join(tempDir(t), 'audit.jsonl');
  const a = AuditLog.open(file);
  const b = AuditLog.open(file);
  t.after(() => Promise.all([a.close(), b.close()]));
  for (let i = 0; i < 10; i++) await (i % 3 === 0 ? a : b).append(readCall({ tool: i % 3 === 0 ? 'from_a' : 'from_b' }));
  assert.equal(verifyAuditLog(file).ok, true);
  assert.deepEqual(fileRecords(file).map((r) => r.seq), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
});

test('when the path becomes a directory, append denies; once the file is back the chain continues', async (t) => {
  const file = path.join(tempDir(t), 'audit.jsonl');
  const audit = AuditLog.open(file);
  t.after(() => audit.close());
  await audit.append(readCall());
  fs.renameSync(file, `${file}.moved`);
  fs.mkdirSync(file);

  await assert.rejects(audit.append(readCall()), isDeniedCall);
  await assert.rejects(audit.append(readCall()), isDeniedCall);

  fs.rmdirSync(file);
  fs.renameSync(`${file}.moved`, file);
  assert.equal((await audit.append(readCall())).seq, 2);
  assert.deepEqual(verifyAuditLog(file), { ok: true, records: 2, head: audit.head.hash });
});

test('a log rotated, removed or emptied under a running server carries its chain on: the loss cannot pass verify unnoticed', async (t) => {
  const dir = tempDir(t);
  const file = path.join(dir, 'audit.jsonl');
  const audit = AuditLog.open(file);
  t.after(() => audit.close());
  for (let i = 0; i < 3; i++) await audit.append(readCall());
  const third = audit.head;

  fs.renameSync(file, path.join(dir, 'audit.1.jsonl')); // rotated (or moved away by an intruder)
  const fourth = await audit.append(readCall());
  assert.deepEqual([fourth.seq, fourth.prev_hash], [4, third.hash]);
  const alone = verifyAuditLog(file);
  assert.equal(alone.ok, false);
  assert.match(alone.ok ? '' : alone.reason, /^the chain starts at seq 4: it continues one whose earlier records are not here/);
  assert.deepEqual(verifyAuditLog([path.join(dir, 'audit.1.jsonl'), file]), { ok: true, records: 4, head: fourth.hash });

  fs.truncateSync(file, 0); // emptied in place
  const fifth = await audit.append(readCall());
  assert.deepEqual([fifth.seq, fifth.prev_hash], [5, fourth.hash]);
  const gap = verifyAuditLog([path.join(dir, 'audit.1.jsonl'), file]);
  assert.deepEqual(gap, { ok: false, file, line: 1, reason: 'seq is 5, expected 4: a record is missing, duplicated or out of order' });

  fs.rmSync(file); // removed
  assert.equal((await audit.append(readCall())).seq, 6);
});

test('a full disk (ENOSPC from /dev/full) denies the call', async (t) => {
  const file = path.join(tempDir(t), 'audit.jsonl');
  fs.symlinkSync('/dev/full', file);
  const audit = AuditLog.open(file);
  t.after(() => audit.close());
  await assert.rejects(audit.append(readCall()), isDeniedCall);
});

test('a record cut short by a failing write is removed, and the next append links to the last good record', async (t) => {
  const file = path.join(tempDir(t), 'audit.jsonl');
  const audit = AuditLog.open(file);
  t.after(() => audit.close());
  const good = await audit.append(readCall());

  const disk = shortWriteThenEnospc();
  await assert.rejects(audit.append(rejectedOrder()), isDeniedCall);
  disk.restore();

  assert.equal(disk.writes(), 2);
  assert.deepEqual(verifyAuditLog(file), { ok: true, records: 1, head: good.hash });
  const next = await audit.append(rejectedOrder());
  assert.equal(next.prev_hash, good.hash);
  assert.deepEqual(verifyAuditLog(file), { ok: true, records: 2, head: next.hash });
});

test('a damaged tail is never chained onto: open and append fail until it is repaired', async (t) => {
  const file = path.join(tempDir(t), 'audit.jsonl');
  const audit = AuditLog.open(file);
  t.after(() => audit.close());
  await audit.append(readCall());
  const intact = fs.readFileSync(file);
  fs.appendFileSync(file, '{"seq":2,"hash":"ab');

  await assert.rejects(audit.append(readCall()), isDeniedCall);
  assert.throws(
    () => AuditLog.open(file),
    (err: unknown) => err instanceof AuditError && err.code === 'AUDIT_WRITE_FAILED' && /cannot open audit log .*incomplete/.test(err.message),
  );
  fs.appendFileSync(file, '"}\n');
  await assert.rejects(audit.append(readCall()), isDeniedCall, 'a complete but hashless last line is refused too');

  fs.writeFileSync(file, intact);
  assert.equal((await audit.append(readCall())).seq, 2);
});

test('append after close is refused', async (t) => {
  const audit = AuditLog.open(path.join(tempDir(t), 'audit.jsonl'));
  await audit.close();
  await assert.rejects(audit.append(readCall()), isDeniedCall);
});

test('a lock left by a dead process is broken; a live holder makes append fail after the timeout', async (t) => {
  const file = path.join(tempDir(t), 'audit.jsonl');
  const lockFile = `${file}.lock`;
  const audit = AuditLog.open(file, { lockTimeoutMs: 200 });
  t.after(() => audit.close());

  const exited = spawnSync(process.execPath, ['-e', '']);
  assert.equal(exited.status, 0);
  fs.writeFileSync(lockFile, `${exited.pid}@${hostname()}\n`);
  assert.equal((await audit.append(readCall())).seq, 1);
  // The dead lock was broken (the append went through); ours may still be held as a lease, or
  // already released when this process was slow to look (a loaded machine): never the dead one.
  const lease = (() => {
    try {
      return fs.readFileSync(lockFile, 'utf8');
    } catch {
      return undefined;
    }
  })();
  if (lease !== undefined) assert.match(lease, new RegExp(`"pid":${process.pid}\\b`), 'the dead lock was replaced by ours (kept as a lease)');
  await lockReleased(lockFile);

  fs.writeFileSync(lockFile, `${process.pid}@${hostname()}\n`);
  await assert.rejects(audit.append(readCall()), isDeniedCall);
  assert.equal(fs.readFileSync(lockFile, 'utf8'), `${process.pid}@${hostname()}\n`, 'a live lock is left alone');
  fs.unlinkSync(lockFile);
  assert.equal((await audit.append(readCall())).seq, 2);
});

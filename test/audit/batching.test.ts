import { test, mock, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { hostname } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { AuditLog, GENESIS_HASH, verifyAuditLog, type AuditLogOptions } from '../../src/audit/index.js';
import { canonicalJson } from '../../src/audit/canonical.js';
import { acquireLock } from '../../src/shared/fileLock.js';
import { batchWritten, fileLines, HeldSyncs, isDeniedCall, lockReleased, readCall, rejectedOrder, shortWriteThenEnospc, state, tempDir } from './fixtures.js';

const upTo = (n: number): number[] => Array.from({ length: n }, (_, i) => i);

/** An AuditLog whose lock acquisitions are counted through the acquireLock seam (the real lock is still taken). */
function countingLocks(t: TestContext, file: string, options: AuditLogOptions = {}): { audit: AuditLog; acquisitions: () => number } {
  let acquisitions = 0;
  const audit = AuditLog.open(file, {
    ...options,
    acquireLock: (lockPath, lockOptions) => {
      acquisitions += 1;
      return acquireLock(lockPath, lockOptions);
    },
  });
  t.after(() => audit.close());
  return { audit, acquisitions: () => acquisitions };
}

test('100 appends issued in one turn: one lock, one write, one sync; they resolve once durable, in call order', async (t) => {
  const file = path.join(tempDir(t), 'audit.jsonl');
  const syncs = new HeldSyncs();
  const { audit, acquisitions } = countingLocks(t, file, { fdatasync: syncs.fdatasync });
  // Every write(2) the audit log issues goes through fs.writeSync; the lock file's own write does not.
  const realWrite = fs.writeSync;
  const writes = mock.method(fs, 'writeSync', (fd: number, data: Buffer, offset?: number, length?: number) => realWrite(fd, data, offset, length));
  t.after(() => writes.mock.restore());

  const settled: number[] = [];
  const appends = upTo(100).map((i) =>
    audit.append(readCall({ latency_ms: i })).then((record) => {
      settled.push(i);
      return record;
    }),
  );
  await batchWritten();
  writes.mock.restore();

  assert.equal(acquisitions(), 1);
  assert.equal(syncs.calls, 1);
  const logWrites = writes.mock.calls.filter((call) => call.arguments[0] === syncs.fds[0]);
  assert.equal(logWrites.length, 1);
  assert.equal(logWrites[0]!.arguments[3], fs.statSync(file).size, 'the one write carried the whole batch');
  assert.equal(await state(appends[0]!), 'pending', 'resolved before its sync completed');
  assert.deepEqual(settled, []);

  syncs.release();
  const records = await Promise.all(appends);
  assert.deepEqual(settled, upTo(100));
  assert.deepEqual(records.map((r) => r.seq), upTo(100).map((i) => i + 1));
  assert.deepEqual(records.map((r) => r.event === 'tool_call' && r.latency_ms), upTo(100));
  assert.deepEqual(records.map((r) => r.prev_hash), [GENESIS_HASH, ...records.slice(0, -1).map((r) => r.hash)]);
  assert.deepEqual(fileLines(file), records.map((r) => canonicalJson(r)));
  assert.deepEqual(verifyAuditLog(file), { ok: true, records: 100, head: records[99]!.hash });
});

test('a failed write denies the whole batch, leaves no trace of it, and the next append chains onto the real tail', async (t) => {
  const file = path.join(tempDir(t), 'audit.jsonl');
  const audit = AuditLog.open(file);
  t.after(() => audit.close());
  const good = await audit.append(readCall());

  const disk = shortWriteThenEnospc();
  const outcomes = await Promise.allSettled(upTo(10).map((i) => audit.append(rejectedOrder({ latency_ms: i }))));
  disk.restore();

  assert.equal(disk.writes(), 2, 'one write for the batch, cut short, then its continuation failing');
  for (const outcome of outcomes) assert.ok(outcome.status === 'rejected' && isDeniedCall(outcome.reason));
  assert.deepEqual(verifyAuditLog(file), { ok: true, records: 1, head: good.hash }, 'the half-written batch was truncated away');

  // Another writer moves the tail meanwhile: the next append must chain onto the file, not onto what it last knew.
  const other = AuditLog.open(file);
  const theirs = await other.append(readCall({ tool: 'other' }));
  await other.close();
  const next = await audit.append(readCall());
  assert.equal(next.seq, 3);
  assert.equal(next.prev_hash, theirs.hash);
  assert.deepEqual(verifyAuditLog(file), { ok: true, records: 3, head: next.hash });
});

test('an event that cannot be serialized is denied on its own; the rest of its batch is written', async (t) => {
  const file = path.join(tempDir(t), 'audit.jsonl');
  const { audit, acquisitions } = countingLocks(t, file);

  const outcomes = await Promise.allSettled([
    audit.append(readCall({ latency_ms: 0 })),
    audit.append(readCall({ latency_ms: Number.NaN })),
    audit.append(readCall({ latency_ms: 2 })),
  ]);

  assert.deepEqual(outcomes.map((o) => o.status), ['fulfilled', 'rejected', 'fulfilled']);
  assert.ok(outcomes[1]!.status === 'rejected' && isDeniedCall(outcomes[1]!.reason));
  assert.deepEqual(outcomes.flatMap((o) => (o.status === 'fulfilled' ? [o.value.seq] : [])), [1, 2]);
  assert.equal(acquisitions(), 1);
  assert.deepEqual(verifyAuditLog(file), { ok: true, records: 2, head: audit.head.hash });
});

test('while another process holds the lock the event loop keeps running, and appends issued meanwhile form the next batch', async (t) => {
  const file = path.join(tempDir(t), 'audit.jsonl');
  const { audit, acquisitions } = countingLocks(t, file);
  // A live holder (this process's pid), so the lock is not broken as stale.
  fs.writeFileSync(`${file}.lock`, JSON.stringify({ pid: process.pid, host: hostname(), nonce: 'test', createdAt: Date.now() }));

  const first = audit.append(readCall({ latency_ms: 0 }));
  await sleep(20);
  assert.equal(acquisitions(), 1);
  assert.equal(await state(first), 'pending');
  const later = [audit.append(readCall({ latency_ms: 1 })), audit.append(readCall({ latency_ms: 2 }))];
  await sleep(20);
  fs.unlinkSync(`${file}.lock`);

  const records = await Promise.all([first, ...later]);
  assert.deepEqual(records.map((r) => r.seq), [1, 2, 3]);
  assert.deepEqual(records.map((r) => r.event === 'tool_call' && r.latency_ms), [0, 1, 2]);
  assert.equal(acquisitions(), 2, 'the appends issued during the wait were written together');
  assert.deepEqual(verifyAuditLog(file), { ok: true, records: 3, head: records[2]!.hash });
});

test('the lock is kept from batch to batch while appends keep coming, and released soon after they stop', async (t) => {
  const file = path.join(tempDir(t), 'audit.jsonl');
  const { audit, acquisitions } = countingLocks(t, file);
  for (let i = 0; i < 5; i++) await audit.append(readCall({ latency_ms: i }));
  assert.equal(acquisitions(), 1, 'one acquisition for five batches');
  assert.equal(fs.existsSync(`${file}.lock`), true, 'held between batches');

  await lockReleased(`${file}.lock`);
  await audit.append(readCall());
  assert.equal(acquisitions(), 2);
  assert.deepEqual(verifyAuditLog(file), { ok: true, records: 6, head: audit.head.hash });
});

test('a writer that keeps appending hands the lock to one that announces it is waiting', async (t) => {
  const file = path.join(tempDir(t), 'audit.jsonl');
  const { audit: busy } = countingLocks(t, file);
  // Opened first: open() waits for the lock synchronously, which the busy writer in this same
  // thread could then never hand over (another process would).
  const other = AuditLog.open(file, { lockTimeoutMs: 300 });
  t.after(() => other.close());
  let appending = true;
  const busyLoop = (async () => {
    let n = 0;
    while (appending) await busy.append(readCall({ tool: 'busy', latency_ms: n++ }));
  })();
  await sleep(20);
  // A timeout well under the lease's 1 s cap: only the hand-over gets it the lock in time.
  const record = await other.append(readCall({ tool: 'other' }));
  // The busy writer's last record before the hand-over may become durable after the other's (two
  // descriptors, two syncs), so stop it only once it has written after the other one, or give up.
  const deadline = Date.now() + 2_000;
  while (busy.head.seq <= record.seq && Date.now() < deadline) await sleep(5);
  appending = false;
  await busyLoop;

  const tools = fileLines(file).map((line) => (JSON.parse(line) as { tool: string }).tool);
  assert.equal(tools[record.seq - 1], 'other');
  assert.ok(tools.slice(record.seq).includes('busy'), 'the busy writer got the lock back afterwards');
  assert.equal(verifyAuditLog(file).ok, true);
});

test('appends queued when close() is called are written before it resolves; later ones are denied', async (t) => {
  const file = path.join(tempDir(t), 'audit.jsonl');
  const audit = AuditLog.open(file);

  const queued = [audit.append(readCall()), audit.append(rejectedOrder())];
  const closing = audit.close();
  await assert.rejects(audit.append(readCall()), isDeniedCall);
  await closing;

  assert.deepEqual((await Promise.all(queued)).map((r) => r.seq), [1, 2]);
  assert.deepEqual(verifyAuditLog(file), { ok: true, records: 2, head: audit.head.hash });
});

test('a record smuggling in chain fields or keys around them still gets a canonical line and a valid hash', async (t) => {
  const file = path.join(tempDir(t), 'audit.jsonl');
  const audit = AuditLog.open(file);
  t.after(() => audit.close());
  const smuggled = { ...readCall(), seq: 999, hash: 'x', prev_hash: 'y', iface: 'cli', timestamp: 'then', a: 1, hasi: [2], ifacf: { z: 1, b: null }, sequel: 'é', zz: true };

  const record = await audit.append(smuggled as unknown as ReturnType<typeof readCall>);
  const stored = record as unknown as Record<string, unknown>;
  assert.deepEqual([stored.seq, stored.iface, stored.prev_hash, stored.a, stored.ifacf], [1, 'mcp', GENESIS_HASH, 1, { z: 1, b: null }]);
  assert.deepEqual(fileLines(file), [canonicalJson(record)]);
  assert.deepEqual(verifyAuditLog(file), { ok: true, records: 1, head: record.hash });
});

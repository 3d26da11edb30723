import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { appendFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { AuthzError } from '../../src/authz/errors.js';
import { LimitsLedger, ledgerFiles } from '../../src/authz/ledger.js';
import { COMPACT_AT_BYTES, decodeLedgerFile, encodeRecord } from '../../src/authz/ledgerFile.js';
import { dailyValue, utcDay, windowCount } from '../../src/authz/ledgerState.js';
import type { KeyRecord } from '../../src/keys/types.js';
import { authorizer, caller, makeKey, MORNING, tempDir } from './fixtures.js';

const WORKER = join(dirname(fileURLToPath(import.meta.url)), 'ledgerWorker.js');
const minute = (ms: number) => new Date(MORNING.getTime() + ms);

/** Reserve `value` for `keyId` with the decision "allow" (the ledger's own arithmetic under test). */
async function reserve(ledger: LimitsLedger, keyId: string, value: number, now = MORNING) {
  return ledger.decideAndReserve(keyId, 'HKD', now, (usage) => ({ outcome: usage, reserveValue: value }));
}

test('usage: attempts slide out after 60 s; reservations count until committed or released', async (t) => {
  const ledger = new LimitsLedger({ stateDir: tempDir(t) });
  const a = await reserve(ledger, 'k', 100, minute(0));
  assert.deepEqual(a.outcome, { ordersBefore: 0, cancelsBefore: 0, dailyValue: 0 });
  const b = await reserve(ledger, 'k', 50, minute(30_000));
  assert.deepEqual(b.outcome, { ordersBefore: 1, cancelsBefore: 0, dailyValue: 100 });
  await ledger.commit(a.reservation!, minute(30_000));
  await ledger.release(b.reservation!, minute(30_000));
  assert.deepEqual(await ledger.usage('k', minute(59_999)), { ordersBefore: 2, cancelsBefore: 0, dailyValue: 100 });
  assert.deepEqual(await ledger.usage('k', minute(60_000)), { ordersBefore: 1, cancelsBefore: 0, dailyValue: 100 });
  assert.deepEqual(await ledger.usage('k', minute(90_000)), { ordersBefore: 0, cancelsBefore: 0, dailyValue: 100 });
});

test('rate limits still exact at the window edges with the new counters', async (t) => {
  const stateDir = tempDir(t);
  const { authz, ledger } = authorizer(t, { stateDir });
  const key = makeKey({ limits: { max_orders_per_minute: 2 } });
  const order = async (at: number) =>
    (await authz.authorizeTrade({ ...caller(key, minute(at)), env: 'simulate', account: '1001', terms: { action: 'futu_place_order', symbol: 'HK.00700', side: 'BUY', orderType: 'LIMIT', qty: 1, price: 10 } })).decision;
  // Off the second boundaries: a per-second count would let one out early or keep it too long.
  assert.equal((await order(400)).allowed, true);
  assert.equal((await order(1_700)).allowed, true);
  const full = await order(60_399);
  assert.deepEqual([full.allowed, full.determiningPolicies[0]?.id], [false, 'rate-limit']);
  assert.equal((await order(60_400)).allowed, true, 'the first order is exactly 60 s old');
  assert.equal((await order(61_699)).allowed, false);
  assert.equal((await order(61_700)).allowed, true);
  assert.equal((await ledger.usage(key.id, minute(61_700))).ordersBefore, 2);

  // Cancels count in their own window, with the same edges, and survive a fresh process's read.
  const fresh = new LimitsLedger({ stateDir });
  await fresh.decideAndReserve('c', 'HKD', minute(250), () => ({ outcome: null, reserveValue: 0 }), 'cancel');
  await fresh.decideAndReserve('c', 'HKD', minute(999), () => ({ outcome: null, reserveValue: 0 }), 'cancel');
  const reader = new LimitsLedger({ stateDir });
  assert.deepEqual(await reader.usage('c', minute(60_249)), { ordersBefore: 0, cancelsBefore: 2, dailyValue: 0 });
  assert.equal((await reader.usage('c', minute(60_250))).cancelsBefore, 1);
  assert.equal((await reader.usage('c', minute(60_998))).cancelsBefore, 1);
  assert.equal((await reader.usage('c', minute(60_999))).cancelsBefore, 0);
});

test('a window holding 100k attempts keeps correct counts, and its state stays bounded', async (t) => {
  const stateDir = tempDir(t);
  const { state: file } = ledgerFiles(stateDir, 'k');
  mkdirSync(dirname(file), { recursive: true });
  // Version 1 (attempt times as a list, no `cancels`) from a key without a cap: two attempts in each ms of 0-49,999.
  const attempts = Array.from({ length: 100_000 }, (_, i) => minute(Math.floor(i / 2)).getTime());
  writeFileSync(file, JSON.stringify({ version: 1, keyId: 'k', currency: null, day: utcDay(MORNING), committed: 0, attempts, reservations: [] }));
  const ledger = new LimitsLedger({ stateDir });
  assert.equal((await ledger.usage('k', minute(50_000))).ordersBefore, 100_000);
  assert.equal((await reserve(ledger, 'k', 0, minute(50_000))).outcome.ordersBefore, 100_000);
  assert.equal((await ledger.usage('k', minute(50_000))).ordersBefore, 100_001);

  const stored = decodeLedgerFile(readFileSync(file), 'k').state;
  assert.equal(stored.version, 2);
  assert.ok(stored.orders.recent.length <= 256 && stored.orders.older.length <= 61, 'bounded whatever the number of attempts');

  // Beyond the newest 256, attempts count until 60 s after the end of their second (never less).
  assert.equal((await ledger.usage('k', minute(60_500))).ordersBefore, 100_001, 'second 0 still counts at 60.5 s');
  assert.equal((await ledger.usage('k', minute(60_999))).ordersBefore, 98_001, 'second 0 (2,000 attempts) left at 61 s');
  assert.equal((await ledger.usage('k', minute(100_000))).ordersBefore, 20_001);
  // At 109,998 ms: the newest 256 are exact to the ms (2 at 49,999 ms, the one at 50,000 ms still
  // count), the other 1,745 of second 49 count until 109,999 ms; then only the last one is left.
  assert.equal((await ledger.usage('k', minute(109_998))).ordersBefore, 2 + 1 + 1_745);
  assert.equal((await ledger.usage('k', minute(109_999))).ordersBefore, 1);
  assert.equal((await ledger.usage('k', minute(110_000))).ordersBefore, 0);
});

test('a state file whose rate window is out of order fails closed', async (t) => {
  const stateDir = tempDir(t);
  const ledger = new LimitsLedger({ stateDir });
  await reserve(ledger, 'k', 0, minute(0));
  await reserve(ledger, 'k', 0, minute(10));
  const { state: file } = ledgerFiles(stateDir, 'k');
  const stored = decodeLedgerFile(readFileSync(file), 'k').state;
  stored.orders.recent.reverse();
  writeFileSync(file, encodeRecord(stored));
  await assert.rejects(ledger.usage('k', minute(20)), (err: unknown) => err instanceof AuthzError && err.code === 'LEDGER_ERROR');
  await assert.rejects(reserve(ledger, 'k', 0, minute(20)), (err: unknown) => err instanceof AuthzError && err.code === 'LEDGER_ERROR');
});

test('each write appends a record in place; the file is compacted before it outgrows its bound', async (t) => {
  const stateDir = tempDir(t);
  const ledger = new LimitsLedger({ stateDir });
  const { state: file } = ledgerFiles(stateDir, 'k');
  await reserve(ledger, 'k', 0, minute(0));
  const created = statSync(file);
  await reserve(ledger, 'k', 0, minute(1));
  assert.equal(statSync(file).ino, created.ino, 'the second write appended to the same file');
  assert.equal(readFileSync(file, 'utf8').split('\n').length - 1, 2, 'two records');
  let replaced = false;
  for (let i = 2; i < 400; i++) {
    await reserve(ledger, 'k', 0, minute(i));
    replaced ||= statSync(file).ino !== created.ino;
    assert.ok(statSync(file).size <= COMPACT_AT_BYTES, `within the bound after write ${i}`);
  }
  assert.ok(replaced, 'compacted into a new file');
  const stored = decodeLedgerFile(readFileSync(file), 'k');
  assert.deepEqual([stored.end, windowCount(stored.state.orders)], [statSync(file).size, 400]);
});

test('a key\'s lock is kept between batches, handed to a waiter without leaking its open file, and let go by close()', async (t) => {
  const stateDir = tempDir(t);
  const ledger = new LimitsLedger({ stateDir });
  const openFiles = () => readdirSync('/proc/self/fd').length;
  const lock = (i: number) => ledgerFiles(stateDir, `k${i}`).lock;
  await ledger.commitValue('k0', 'HKD', 1, utcDay(MORNING), MORNING);
  assert.ok(existsSync(lock(0)), 'the lock is kept after the batch');
  await ledger.close();
  const before = openFiles();
  // Another process waits for each of 40 keys: each lock is handed over right after its batch...
  mkdirSync(dirname(lock(0)), { recursive: true });
  for (let i = 1; i <= 40; i++) writeFileSync(`${lock(i)}.waiting`, '');
  for (let i = 1; i <= 40; i++) await ledger.commitValue(`k${i}`, 'HKD', 1, utcDay(MORNING), MORNING);
  assert.ok(!existsSync(lock(1)) && !existsSync(lock(40)), 'handed over');
  // ...and once the hand-over pause is over, nothing this process kept for those keys stays open.
  await waitFor(() => openFiles() - before < 5);

  await ledger.commitValue('k0', 'HKD', 1, utcDay(MORNING), MORNING);
  assert.ok(existsSync(lock(0)));
  await ledger.close();
  assert.equal(existsSync(lock(0)), false, 'close() lets go of the kept lock');
  assert.equal((await new LimitsLedger({ stateDir }).usage('k0', MORNING)).dailyValue, 2);
});

test('a record cut off by a crash is ignored by readers and cut off by the next write', async (t) => {
  const stateDir = tempDir(t);
  const ledger = new LimitsLedger({ stateDir });
  const { reservation } = await reserve(ledger, 'k', 300);
  await ledger.commit(reservation!);
  const { state: file } = ledgerFiles(stateDir, 'k');
  const unconfirmed = encodeRecord({ ...decodeLedgerFile(readFileSync(file), 'k').state, committed: 999_999 });
  appendFileSync(file, unconfirmed.subarray(0, unconfirmed.length - 5));
  assert.equal((await new LimitsLedger({ stateDir }).usage('k', MORNING)).dailyValue, 300);
  assert.equal((await reserve(ledger, 'k', 50)).outcome.dailyValue, 300);
  const stored = decodeLedgerFile(readFileSync(file), 'k');
  assert.deepEqual([stored.end, dailyValue(stored.state)], [statSync(file).size, 350], 'the cut-off bytes are gone');
});

test('a state file of an earlier version is read and rewritten as records by the next write', async (t) => {
  const stateDir = tempDir(t);
  const { state: file } = ledgerFiles(stateDir, 'k');
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, JSON.stringify({ version: 1, keyId: 'k', currency: 'HKD', day: utcDay(MORNING), committed: 4_200, attempts: [MORNING.getTime() - 1_000], reservations: [] }));
  const ledger = new LimitsLedger({ stateDir });
  assert.deepEqual(await ledger.usage('k', MORNING), { ordersBefore: 1, cancelsBefore: 0, dailyValue: 4_200 });
  await reserve(ledger, 'k', 0);
  const stored = decodeLedgerFile(readFileSync(file), 'k');
  assert.deepEqual([stored.legacy, stored.state.committed, windowCount(stored.state.orders)], [false, 4_200, 2]);
});

test('a denied decision records nothing; settling twice counts once', async (t) => {
  const ledger = new LimitsLedger({ stateDir: tempDir(t) });
  const denied = await ledger.decideAndReserve('k', 'HKD', MORNING, () => ({ outcome: 'deny', reserveValue: null }));
  assert.equal(denied.reservation, null);
  assert.deepEqual(await ledger.usage('k', MORNING), { ordersBefore: 0, cancelsBefore: 0, dailyValue: 0 });
  const { reservation } = await reserve(ledger, 'k', 70);
  await ledger.commit(reservation!);
  await ledger.commit(reservation!);
  await ledger.release(reservation!);
  assert.equal((await ledger.usage('k', MORNING)).dailyValue, 70);
});

test('the daily total resets at UTC midnight, and a clock going back never erases it', async (t) => {
  const ledger = new LimitsLedger({ stateDir: tempDir(t) });
  const lateUtc = new Date('2026-05-04T23:59:59.000Z');
  const { reservation } = await reserve(ledger, 'k', 500, lateUtc);
  await ledger.commit(reservation!, lateUtc);
  assert.equal((await ledger.usage('k', new Date('2026-05-04T23:59:59.999Z'))).dailyValue, 500);
  assert.equal((await ledger.usage('k', new Date('2026-05-05T00:00:00.000Z'))).dailyValue, 0);
  await reserve(ledger, 'k', 0, new Date('2026-05-03T12:00:00.000Z'));
  assert.equal((await ledger.usage('k', lateUtc)).dailyValue, 500);
});

test('a reservation stops counting after its TTL; a late commit still counts the order', async (t) => {
  const ledger = new LimitsLedger({ stateDir: tempDir(t), reservationTtlMs: 1_000 });
  const { reservation } = await reserve(ledger, 'k', 300, minute(0));
  assert.equal((await ledger.usage('k', minute(999))).dailyValue, 300);
  assert.equal((await ledger.usage('k', minute(1_000))).dailyValue, 0);
  await ledger.commit(reservation!, minute(5_000));
  assert.equal((await ledger.usage('k', minute(5_000))).dailyValue, 300);
});

test('a corrupt state file or a currency switch mid-day fails closed with LEDGER_ERROR', async (t) => {
  const stateDir = tempDir(t);
  const { authz, ledger } = authorizer(t, { stateDir });
  const key = makeKey({ limits: { max_daily_value: 1_000_000 } });
  const order = (k: KeyRecord) => authz.authorizeTrade({ ...caller(k), env: 'simulate', account: '1001', terms: { action: 'futu_place_order', symbol: 'HK.00700', side: 'BUY', orderType: 'LIMIT', qty: 1, price: 10 } });
  const first = await order(key);
  await ledger.commit(first.reservation!, MORNING);
  const inUsd = { ...key, limits: { ...key.limits, limit_currency: 'USD' as const } };
  const switched = (await order(inUsd)).decision;
  assert.deepEqual([switched.allowed, switched.code], [false, 'LEDGER_ERROR']);
  assert.match(switched.message, /recorded in HKD/);

  writeFileSync(ledgerFiles(stateDir, key.id).state, '{"version":1,"keyId":"someone else"');
  const corrupt = (await order(key)).decision;
  assert.deepEqual([corrupt.allowed, corrupt.code], [false, 'LEDGER_ERROR']);
  await assert.rejects(ledger.usage(key.id, MORNING), (err: unknown) => err instanceof AuthzError && err.code === 'LEDGER_ERROR');
});

test('a commit whose write fails is kept and applied by the key\'s next write; trades are denied meanwhile', async (t) => {
  const stateDir = tempDir(t);
  const ledger = new LimitsLedger({ stateDir });
  const { reservation } = await reserve(ledger, 'k', 400);
  const { state } = ledgerFiles(stateDir, 'k');
  // A directory where the state file should be: every read and rename of it fails for real.
  rmSync(state);
  mkdirSync(state);
  assert.equal(await ledger.commit(reservation!), false);
  await assert.rejects(reserve(ledger, 'k', 1), (err: unknown) => err instanceof AuthzError && err.code === 'LEDGER_ERROR');
  rmSync(state, { recursive: true });
  const next = await reserve(ledger, 'k', 0);
  assert.equal(next.outcome.dailyValue, 400);
  assert.equal((await new LimitsLedger({ stateDir }).usage('k', MORNING)).dailyValue, 400);
});

test('a lock held by a live process makes callers wait, then fail closed; a dead holder\'s lock is broken', async (t) => {
  const stateDir = tempDir(t);
  const { lock } = ledgerFiles(stateDir, 'k');
  mkdirSync(dirname(lock), { recursive: true });
  writeFileSync(lock, JSON.stringify({ pid: process.ppid, nonce: 'someone', createdAt: Date.now() }));
  const impatient = new LimitsLedger({ stateDir, lockTimeoutMs: 150 });
  await assert.rejects(reserve(impatient, 'k', 1), (err: unknown) => err instanceof AuthzError && err.code === 'LEDGER_ERROR');

  // A live pid but an ancient lock (pid reuse): broken after staleLockMs.
  writeFileSync(lock, JSON.stringify({ pid: process.ppid, nonce: 'reused', createdAt: Date.now() - 60_000 }));
  assert.equal((await reserve(new LimitsLedger({ stateDir, staleLockMs: 30_000 }), 'k', 1)).outcome.ordersBefore, 0);

  const dead = await deadPid();
  writeFileSync(lock, JSON.stringify({ pid: dead, nonce: 'crashed', createdAt: Date.now() }));
  assert.equal((await reserve(new LimitsLedger({ stateDir }), 'k', 1)).outcome.ordersBefore, 1);
});

test('200 concurrent orders racing one daily limit never commit more than the limit', async (t) => {
  const { authz, ledger } = authorizer(t);
  // HKD 1,000 per order, HKD 37,000 per day: exactly 37 fit.
  const key = makeKey({ limits: { max_daily_value: 37_000 } });
  const results = await Promise.all(
    Array.from({ length: 200 }, async () => {
      const { decision, reservation } = await authz.authorizeTrade({
        ...caller(key, new Date()),
        env: 'simulate',
        account: '1001',
        terms: { action: 'futu_place_order', symbol: 'HK.00700', side: 'BUY', orderType: 'LIMIT', qty: 10, price: 100 },
      });
      if (reservation) await ledger.commit(reservation);
      return decision;
    }),
  );
  assert.equal(results.filter((d) => d.allowed).length, 37);
  assert.ok(results.filter((d) => !d.allowed).every((d) => d.determiningPolicies[0]?.id === 'daily-limit'));
  assert.equal((await ledger.usage(key.id, new Date())).dailyValue, 3_700_000);
});

test('four processes racing one daily limit across a shared state directory never overshoot', async (t) => {
  const stateDir = tempDir(t);
  const key = makeKey({ limits: { max_daily_value: 37_000 } });
  const workers = Array.from({ length: 4 }, () => startRaceWorker({ stateDir, key, orders: 50, qty: 10, price: 100, mode: 'race' }));
  await Promise.all(workers.map((w) => w.ready));
  for (const w of workers) w.go();
  const summaries = (await Promise.all(workers.map((w) => w.done))).map((out) => JSON.parse(out) as Record<string, number>);
  const allowed = summaries.reduce((sum, s) => sum + (s.ALLOW ?? 0), 0);
  const denied = summaries.reduce((sum, s) => sum + (s.LIMIT_EXCEEDED ?? 0), 0);
  assert.deepEqual([allowed, denied], [37, 163], JSON.stringify(summaries));
  assert.equal((await new LimitsLedger({ stateDir }).usage(key.id, new Date())).dailyValue, 3_700_000);
});

test('totals survive a restart and a kill -9 mid-day; the dead process\'s reservation stops counting', async (t) => {
  const stateDir = tempDir(t);
  const key = makeKey({ limits: { max_daily_value: 10_000 } });
  const child = spawn(process.execPath, [WORKER, JSON.stringify({ stateDir, key, orders: 3, qty: 10, price: 100, mode: 'hold' })], { stdio: ['ignore', 'pipe', 'inherit'] });
  const exited = new Promise((resolve) => child.on('exit', resolve));
  await new Promise<void>((resolve, reject) => {
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => chunk.includes('held') && resolve());
    child.on('exit', (code) => reject(new Error(`worker exited early with ${code}`)));
  });
  // While the child lives, its in-flight reservation counts.
  assert.equal((await new LimitsLedger({ stateDir }).usage(key.id, new Date())).dailyValue, 400_000);
  child.kill('SIGKILL');
  await exited;
  // A fresh process view: three committed orders, the killed one's reservation gone.
  const restarted = new LimitsLedger({ stateDir });
  assert.equal((await restarted.usage(key.id, new Date())).dailyValue, 300_000);
  const { authz } = authorizer(t, { stateDir });
  const next = await authz.authorizeTrade({
    ...caller(key, new Date()),
    env: 'simulate',
    account: '1001',
    terms: { action: 'futu_place_order', symbol: 'HK.00700', side: 'BUY', orderType: 'LIMIT', qty: 70, price: 100 },
  });
  assert.equal(next.decision.allowed, true, next.decision.message);
  assert.equal(next.decision.context.projectedDailyValue, 1_000_000);
});

test('a process killed -9 while trading leaves every commit it confirmed, and its lock does not hold up the next', async (t) => {
  const stateDir = tempDir(t);
  const key = makeKey({ limits: { max_daily_value: 1_000_000_000 } });
  const child = spawn(process.execPath, [WORKER, JSON.stringify({ stateDir, key, orders: 4, qty: 1, price: 1, mode: 'stream' })], { stdio: ['ignore', 'pipe', 'inherit'] });
  const exited = new Promise((resolve) => child.on('exit', resolve));
  let confirmed = 0;
  await new Promise<void>((resolve, reject) => {
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      confirmed += chunk.split('c').length - 1;
      if (confirmed >= 60) resolve();
    });
    child.on('exit', (code) => reject(new Error(`worker exited early with ${code}`)));
  });
  child.kill('SIGKILL');
  await exited;
  // Each order is HKD 1; counted lines may lag the commits, never lead them; up to 4 were in flight.
  const ledger = new LimitsLedger({ stateDir, lockTimeoutMs: 5_000 });
  const { dailyValue: value } = await ledger.usage(key.id, new Date());
  assert.ok(value >= confirmed * 100 && value <= (confirmed + 4) * 100, `${value} for ${confirmed} confirmed`);
  // The dead holder's lock is broken at once (its pid is gone), long before it would go stale.
  const next = await reserve(ledger, key.id, 100, new Date());
  assert.equal(next.outcome.dailyValue, value);
  const stored = decodeLedgerFile(readFileSync(ledgerFiles(stateDir, key.id).state), key.id);
  assert.equal(stored.end, statSync(ledgerFiles(stateDir, key.id).state).size);
});

/** Resolves once `condition` holds; fails, rather than hangs, after a bound no loaded machine reaches. */
async function waitFor(condition: () => boolean, withinMs = 10_000): Promise<void> {
  const deadline = Date.now() + withinMs;
  while (!condition()) {
    assert.ok(Date.now() < deadline, `not within ${withinMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
}

/** A race worker: `ready` once it has loaded, `go()` releases it, `done` is its summary line. */
function startRaceWorker(job: object) {
  const child = spawn(process.execPath, [WORKER, JSON.stringify(job)], { stdio: ['pipe', 'pipe', 'inherit'] });
  let out = '';
  let markReady: () => void;
  const ready = new Promise<void>((resolve) => (markReady = resolve));
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    out += chunk;
    if (out.startsWith('ready\n')) markReady();
  });
  const done = new Promise<string>((resolve, reject) => {
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve(out.slice('ready\n'.length).trim()) : reject(new Error(`worker exited with ${code}`))));
  });
  return { ready, done, go: () => child.stdin.end('go\n') };
}

/** The pid of a process that has exited and been reaped. */
async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ['-e', '0'], { stdio: 'ignore' });
  const pid = child.pid!;
  await new Promise((resolve) => child.on('exit', resolve));
  return pid;
}

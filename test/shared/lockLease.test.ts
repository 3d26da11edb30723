import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { acquireLock, type HeldLock, type LockOptions } from '../../src/shared/fileLock.js';
import { LockLease, type LeaseTiming } from '../../src/shared/lockLease.js';

const lockModule = new URL('../../src/shared/fileLock.js', import.meta.url).href;

/** Waiters announce themselves, and never time out within a test. */
const LOCK_OPTIONS: LockOptions = { timeoutMs: 30_000, announceWaiting: true };
/** Nothing ends the lease by time within a test unless the test says so. */
const FOREVER: LeaseTiming = { idleMs: 600_000, maxMs: 600_000, pollMs: 2, handoverMs: 8 };

interface CountingLease {
  readonly lease: LockLease;
  /** How many times onEnd was called. */
  readonly ends: () => number;
}

/**
 * A lock path in a temporary directory, and leases on it whose onEnd calls are counted. When the
 * test finishes, the leases end before the directory is removed, so none finds its lock gone.
 */
function lockFixture(t: TestContext): { path: string; newLease: (timing?: Partial<LeaseTiming>) => CountingLease } {
  const dir = mkdtempSync(join(tmpdir(), 'futu-lease-test-'));
  const path = join(dir, 'data.lock');
  const leases: LockLease[] = [];
  t.after(() => {
    for (const lease of leases) lease.end();
    rmSync(dir, { recursive: true, force: true });
  });
  return {
    path,
    newLease: (timing = {}) => {
      let ends = 0;
      const lease = new LockLease(path, LOCK_OPTIONS, { ...FOREVER, ...timing }, acquireLock, () => ends++);
      leases.push(lease);
      return { lease, ends: () => ends };
    },
  };
}

function inode(path: string): bigint {
  return statSync(path, { bigint: true }).ino;
}

/** Resolves once `condition` holds; fails, rather than hangs, after a bound no loaded machine reaches. */
async function until(condition: () => boolean, what: string, withinMs = 10_000): Promise<void> {
  const deadline = performance.now() + withinMs;
  while (!condition()) {
    assert.ok(performance.now() < deadline, `not within ${withinMs} ms: ${what}`);
    await sleep(1);
  }
}

/** Records the order in which acquisitions resolve. */
function recordOrder(order: string[], name: string, acquiring: Promise<HeldLock>): Promise<HeldLock> {
  return acquiring.then((lock) => {
    order.push(name);
    return lock;
  });
}

test('the lock is kept between uses: the same HeldLock and the same lock file, also across idle polls', async (t) => {
  const { path, newLease } = lockFixture(t);
  const { lease, ends } = newLease();
  const first = await lease.acquire();
  first.assertHeld();
  const created = inode(path);
  lease.kept();
  // Several polls find no waiter and leave the lock where it is.
  await sleep(20);
  const second = await lease.acquire();
  assert.equal(second, first);
  assert.equal(inode(path), created);
  second.assertHeld();
  lease.kept();
  assert.equal(existsSync(path), true);
  assert.equal(ends(), 0);
});

test('the lease ends idleMs after the last use: the lock file goes, onEnd is called, and the next use takes a new lock', async (t) => {
  const { path, newLease } = lockFixture(t);
  const { lease, ends } = newLease({ idleMs: 20 });
  const first = await lease.acquire();
  const usedAt = performance.now();
  lease.kept();
  assert.equal(existsSync(path), true, 'kept right after the use');
  await until(() => !existsSync(path), 'the idle lease released its lock');
  // A lower bound only: a loaded machine makes the release later, never earlier.
  assert.ok(performance.now() - usedAt >= 19, 'not released before idleMs');
  assert.equal(ends(), 1);

  const second = await lease.acquire();
  assert.notEqual(second, first);
  second.assertHeld();
  assert.equal(ends(), 1);
});

test('a use that awaits past idleMs keeps its lock: the idle check leaves a lease in use alone', async (t) => {
  const { path, newLease } = lockFixture(t);
  const { lease, ends } = newLease({ idleMs: 20 });
  const lock = await lease.acquire();
  const created = inode(path);
  lease.kept();
  assert.equal(await lease.acquire(), lock);
  // The work of this use awaits for several idle periods.
  await sleep(80);
  assert.equal(inode(path), created);
  lock.assertHeld();
  assert.equal(ends(), 0);
  lease.kept();
  assert.equal(existsSync(path), true, 'the use just ended, so the lease is not idle');
  await until(() => !existsSync(path), 'the idle lease released its lock after the use');
  assert.equal(ends(), 1);
});

test('a lease older than maxMs is kept while idle but released at its next kept()', async (t) => {
  const { path, newLease } = lockFixture(t);
  const { lease, ends } = newLease({ maxMs: 30 });
  const first = await lease.acquire();
  const created = inode(path);
  lease.kept();
  await sleep(60);
  assert.equal(inode(path), created, 'maxMs alone does not end an idle lease');
  assert.equal(await lease.acquire(), first);
  lease.kept();
  assert.equal(existsSync(path), false, 'released by the kept() of the first use past maxMs');
  assert.equal(ends(), 1);
});

test('end() releases at once and calls onEnd once; with no lock held it does nothing', async (t) => {
  const { path, newLease } = lockFixture(t);
  const { lease, ends } = newLease();
  lease.end();
  assert.equal(ends(), 0, 'nothing held, nothing ended');
  await lease.acquire();
  lease.kept();
  lease.end();
  assert.equal(existsSync(path), false);
  assert.equal(ends(), 1);
  lease.end();
  assert.equal(ends(), 1);
  // Nothing of it lingers: someone else's lock, taken now, stays theirs.
  const other = await acquireLock(path, { timeoutMs: 0 });
  await sleep(20);
  other.assertHeld();
  other.release();
});

test('an idle lease hands its lock to a second lease that announces itself, within a poll; onEnd only once the pause is over', async (t) => {
  const { path, newLease } = lockFixture(t);
  const holder = newLease({ pollMs: 5 });
  const waiter = newLease();
  await holder.lease.acquire();
  holder.lease.kept();
  const started = performance.now();
  const taken = await waiter.lease.acquire();
  // idleMs and maxMs are ten minutes: only the poll finding the announcement can have ended it.
  assert.ok(performance.now() - started < 10_000);
  taken.assertHeld();
  assert.equal(holder.ends(), 0, 'during the pause the lease must remember it handed over');
  assert.equal(existsSync(`${path}.waiting`), false, 'the announcement was consumed');
  // Then its owner may forget it (and close what it kept under the lock): nothing leaks per hand-over.
  await until(() => holder.ends() === 1, 'onEnd after the hand-over pause');
});

test('after handing over from kept(), the next acquire() waits out handoverMs, so the waiter gets the lock first; onEnd is called only when a later lease ends', async (t) => {
  const { path, newLease } = lockFixture(t);
  const holder = newLease({ pollMs: 600_000, handoverMs: 200 });
  const waiter = newLease();
  await holder.lease.acquire();
  const order: string[] = [];
  // The waiter's first attempt, and so its announcement, happens within this call.
  const waiterGets = recordOrder(order, 'waiter', waiter.lease.acquire());
  assert.equal(existsSync(`${path}.waiting`), true);
  holder.lease.kept();
  assert.equal(existsSync(path), false, 'handed over by kept() itself, not by a poll');
  // Asked at once, while the waiter sleeps in its backoff: without the pause this would win.
  const holderGets = recordOrder(order, 'holder', holder.lease.acquire());
  const waiterLock = await waiterGets;
  assert.deepEqual(order, ['waiter']);
  assert.equal(holder.ends(), 0);
  await sleep(250);
  assert.deepEqual(order, ['waiter'], 'the holder waits for the lock it handed over');

  waiter.lease.end();
  assert.equal(waiter.ends(), 1);
  const holderLock = await holderGets;
  assert.notEqual(holderLock, waiterLock);
  holderLock.assertHeld();
  assert.equal(holder.ends(), 0);
  holder.lease.end();
  assert.equal(holder.ends(), 1);
});

test('a lease idling out while a waiter is announced hands over rather than merely ending', async (t) => {
  const { path, newLease } = lockFixture(t);
  // Idle long before the first poll, which then finds both the idle time and the waiter.
  const holder = newLease({ idleMs: 1, pollMs: 100 });
  const waiter = newLease();
  await holder.lease.acquire();
  holder.lease.kept();
  const waiterGets = waiter.lease.acquire();
  assert.equal(existsSync(`${path}.waiting`), true);
  (await waiterGets).assertHeld();
  assert.equal(holder.ends(), 0, 'ended as a hand-over, whose pause the next acquire() keeps');
  await until(() => holder.ends() === 1, 'onEnd after the hand-over pause');
});

/** Takes the lock announcing itself, says "got", releases it. */
const waiterSource = `
const { acquireLock } = await import(process.argv[1]);
const lock = await acquireLock(process.argv[2], { timeoutMs: Number(process.argv[3]), announceWaiting: true });
process.stdout.write('got\\n');
lock.release();
`;

test('a waiter in another process gets the lock from an idle lease, which then takes a new one', async (t) => {
  const { path, newLease } = lockFixture(t);
  const { lease, ends } = newLease({ pollMs: 5 });
  const first = await lease.acquire();
  lease.kept();
  // idleMs and maxMs are ten minutes: the child gets the lock in time only through the hand-over.
  const child = spawn(process.execPath, ['--input-type=module', '-e', waiterSource, lockModule, path, '10000'], { stdio: ['ignore', 'pipe', 'inherit'] });
  t.after(() => child.kill('SIGKILL'));
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const [code] = (await once(child, 'exit')) as [number | null];
  assert.equal(code, 0, 'the child got the lock before its timeout');
  assert.equal(output, 'got\n');
  // The child has come and gone: the hand-over's pause is long over, so the lease has ended.
  assert.equal(ends(), 1);
  assert.equal(existsSync(path), false);

  const second = await lease.acquire();
  assert.notEqual(second, first);
  second.assertHeld();
});

import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { closeSync, existsSync, fstatSync, mkdtempSync, openSync, readFileSync, readdirSync, rmSync, statSync, unlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { acquireLock, isProcessAlive, LockTimeoutError, withLockSync, type LockOptions } from '../../src/shared/fileLock.js';
import { setLogSink } from '../../src/shared/log.js';

const logged: string[] = [];
setLogSink((line) => logged.push((JSON.parse(line) as { msg: string }).msg));

const lockModule = new URL('../../src/shared/fileLock.js', import.meta.url).href;

function tempDir(t: TestContext): string {
  const dir = mkdtempSync(join(tmpdir(), 'futu-lock-test-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** The pid of a process that has exited and been reaped. */
function deadPid(): number {
  const exited = spawnSync(process.execPath, ['-e', '']);
  assert.equal(exited.status, 0);
  return exited.pid;
}

/** Lock file contents naming `pid` as owner: ours, and the formats earlier versions wrote. */
function ownerFormats(pid: number): Record<string, string> {
  return {
    current: JSON.stringify({ pid, host: hostname(), nonce: 'n0', createdAt: Date.now() }),
    'futucli "<pid>"': String(pid),
    'audit "<pid>@<host>"': `${pid}@${hostname()}\n`,
    'ledger JSON without host': JSON.stringify({ pid, nonce: 'n1', createdAt: Date.now() }),
  };
}

/** Both flavours, so every staleness rule is checked through each. */
const flavours = {
  sync: (path: string, options: LockOptions, work: () => void) => withLockSync(path, options, work),
  async: async (path: string, options: LockOptions, work: () => void) => {
    const lock = await acquireLock(path, options);
    try {
      work();
    } finally {
      lock.release();
    }
  },
};

function isTimeout(path: string, timeoutMs: number) {
  return (err: unknown) =>
    err instanceof LockTimeoutError &&
    err.lockPath === path &&
    err.timeoutMs === timeoutMs &&
    err.message === `timed out after ${timeoutMs} ms waiting for lock ${path}`;
}

test('withLockSync holds a lock file naming its owner, readable by no one else, and removes it afterwards, also when the work throws', (t) => {
  const dir = tempDir(t);
  const path = join(dir, 'data.lock');
  const result = withLockSync(path, { timeoutMs: 1_000 }, (lock) => {
    lock.assertHeld();
    assert.equal(lock.path, path);
    const owner = JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
    assert.deepEqual([owner.pid, owner.host, typeof owner.nonce, typeof owner.createdAt], [process.pid, hostname(), 'string', 'number']);
    assert.equal(statSync(path).mode & 0o077, 0);
    // Nothing but the lock file itself: no temporary or breaker files.
    assert.deepEqual(readdirSync(dir), ['data.lock']);
    return 42;
  });
  assert.equal(result, 42);
  assert.deepEqual(readdirSync(dir), []);

  assert.throws(
    () =>
      withLockSync(path, { timeoutMs: 1_000 }, () => {
        throw new Error('work failed');
      }),
    /work failed/,
  );
  assert.deepEqual(readdirSync(dir), []);
});

for (const [flavour, locked] of Object.entries(flavours)) {
  test(`${flavour}: a live owner's lock is waited for, then refused with LockTimeoutError and left as it is, in every format`, async (t) => {
    const path = join(tempDir(t), 'data.lock');
    for (const [format, content] of Object.entries(ownerFormats(process.pid))) {
      writeFileSync(path, content);
      let ran = false;
      await assert.rejects(
        (async () => locked(path, { timeoutMs: 50 }, () => (ran = true)))(),
        isTimeout(path, 50),
        format,
      );
      assert.equal(ran, false, format);
      assert.equal(readFileSync(path, 'utf8'), content, format);
    }
  });

  test(`${flavour}: a dead owner's lock is broken at once, in every format`, async (t) => {
    const dir = tempDir(t);
    const path = join(dir, 'data.lock');
    for (const [format, content] of Object.entries(ownerFormats(deadPid()))) {
      writeFileSync(path, content);
      let owner: unknown;
      // timeoutMs 0: the lock must be taken without waiting at all.
      await locked(path, { timeoutMs: 0 }, () => (owner = JSON.parse(readFileSync(path, 'utf8')).pid));
      assert.equal(owner, process.pid, format);
      assert.deepEqual(readdirSync(dir), [], format);
    }
  });

  test(`${flavour}: with staleAfterMs an old lock is broken whoever owns it; without it, only a dead owner's`, async (t) => {
    const path = join(tempDir(t), 'data.lock');
    const old = Date.now() - 60_000;
    const cases: { name: string; content: string; mtime?: number }[] = [
      { name: 'live pid, old createdAt (pid reuse)', content: JSON.stringify({ pid: process.pid, host: hostname(), nonce: 'x', createdAt: old }) },
      { name: 'other host', content: JSON.stringify({ pid: deadPid(), host: 'elsewhere.invalid', nonce: 'x', createdAt: old }) },
      { name: 'unparseable, judged by mtime', content: 'garbage', mtime: old },
      { name: 'empty, judged by mtime', content: '', mtime: old },
    ];
    for (const { name, content, mtime } of cases) {
      const plant = () => {
        writeFileSync(path, content);
        if (mtime !== undefined) utimesSync(path, mtime / 1000, mtime / 1000);
      };
      plant();
      await assert.rejects((async () => locked(path, { timeoutMs: 20 }, () => {}))(), isTimeout(path, 20), name);
      assert.equal(readFileSync(path, 'utf8'), content, name);
      plant();
      let ran = false;
      await locked(path, { timeoutMs: 0, staleAfterMs: 30_000 }, () => (ran = true));
      assert.equal(ran, true, name);
      assert.equal(existsSync(path), false, name);
    }
  });

  test(`${flavour}: an owner on another host or of unknown identity is never judged by pid, and a young lock of theirs is kept`, async (t) => {
    const path = join(tempDir(t), 'data.lock');
    for (const content of [`${deadPid()}@elsewhere.invalid\n`, 'garbage', '', JSON.stringify({ pid: 0, createdAt: Date.now() })]) {
      writeFileSync(path, content);
      await assert.rejects((async () => locked(path, { timeoutMs: 20, staleAfterMs: 30_000 }, () => {}))(), isTimeout(path, 20), content);
      assert.equal(readFileSync(path, 'utf8'), content);
    }
  });
}

test('a breaker lock left by a dead waiter does not wedge breaking; a live one means someone else is breaking, so we wait', (t) => {
  const dir = tempDir(t);
  const path = join(dir, 'data.lock');
  logged.length = 0;
  const stale = JSON.stringify({ pid: deadPid(), host: hostname(), nonce: 'a', createdAt: Date.now() });
  writeFileSync(path, stale);
  writeFileSync(`${path}.break`, JSON.stringify({ pid: process.pid, host: hostname(), nonce: 'b', createdAt: Date.now() }));
  assert.throws(() => withLockSync(path, { timeoutMs: 20 }, () => {}), isTimeout(path, 20));
  assert.equal(readFileSync(path, 'utf8'), stale);

  writeFileSync(`${path}.break`, JSON.stringify({ pid: deadPid(), host: hostname(), nonce: 'c', createdAt: Date.now() }));
  assert.equal(
    withLockSync(path, { timeoutMs: 0 }, () => 'acquired'),
    'acquired',
  );
  assert.deepEqual(readdirSync(dir), []);
  assert.ok(logged.includes('broke a stale lock'));
});

test('a lock broken or removed while held: assertHeld throws, and release leaves the new owner\'s lock alone without throwing', (t) => {
  const path = join(tempDir(t), 'data.lock');
  logged.length = 0;
  const newOwner = JSON.stringify({ pid: process.pid, host: hostname(), nonce: 'someone-else', createdAt: Date.now() });
  withLockSync(path, { timeoutMs: 1_000 }, (lock) => {
    unlinkSync(path);
    assert.throws(() => lock.assertHeld(), { message: `lock ${path} is no longer held: it was broken as stale or removed` });
    writeFileSync(path, newOwner);
    assert.throws(() => lock.assertHeld(), /no longer held/);
  });
  assert.equal(readFileSync(path, 'utf8'), newOwner);
  assert.ok(logged.includes('lock was broken or removed by someone else while held'));
});

test('releasing twice is harmless: the second release closes nothing, not even a descriptor that reused the number', async (t) => {
  const dir = tempDir(t);
  const lock = await acquireLock(join(dir, 'data.lock'), { timeoutMs: 1_000 });
  lock.release();
  const other = openSync(join(dir, 'other'), 'w');
  t.after(() => closeSync(other));
  lock.release();
  assert.equal(fstatSync(other).isFile(), true);
  assert.deepEqual(readdirSync(dir), ['other']);
});

test('acquireLock waits without blocking the event loop and gets the lock once the holder releases it', async (t) => {
  const path = join(tempDir(t), 'data.lock');
  const first = await acquireLock(path, { timeoutMs: 1_000 });
  let secondHeld = false;
  const second = acquireLock(path, { timeoutMs: 60_000 }).then((lock) => {
    secondHeld = true;
    return lock;
  });
  // This timer firing shows the event loop keeps running while `second` waits.
  await sleep(30);
  assert.equal(secondHeld, false);
  first.assertHeld();
  first.release();
  const lock = await second;
  lock.assertHeld();
  lock.release();
  assert.equal(existsSync(path), false);
});

test('isProcessAlive: only a process that is provably gone is dead; pids that address groups are never alive', () => {
  assert.equal(isProcessAlive(process.pid), true);
  assert.equal(isProcessAlive(deadPid()), false);
  for (const pid of [0, -1, 1.5, Number.NaN]) assert.equal(isProcessAlive(pid), false, String(pid));
});

/**
 * A child that takes the lock `rounds` times with the given flavour and, under it, does a slow
 * read-increment-write of a counter and appends its name to a turn log. Prints "ready", starts on
 * a stdin line, so all children contend from the start.
 */
const counterSource = `
import { readFileSync, writeFileSync, appendFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
const { acquireLock, withLockSync } = await import(process.argv[1]);
const [dir, flavour, name, rounds] = process.argv.slice(2);
const lockPath = dir + '/counter.lock';
const pause = new Int32Array(new SharedArrayBuffer(4));
const critical = (lock) => {
  const n = Number(readFileSync(dir + '/counter', 'utf8'));
  Atomics.wait(pause, 0, 0, Math.random());
  lock.assertHeld();
  writeFileSync(dir + '/counter', String(n + 1));
  appendFileSync(dir + '/turns', name + '\\n');
};
process.stdout.write('ready\\n');
process.stdin.once('data', async () => {
  for (let i = 0; i < Number(rounds); i++) {
    if (flavour === 'sync') withLockSync(lockPath, { timeoutMs: 60_000 }, critical);
    else {
      const lock = await acquireLock(lockPath, { timeoutMs: 60_000 });
      try { critical(lock); } finally { lock.release(); }
    }
    await sleep(Math.random() * 2);
  }
  process.exit(0);
});
`;

function startChild(source: string, args: string[]): ChildProcess {
  return spawn(process.execPath, ['--input-type=module', '-e', source, lockModule, ...args], { stdio: ['pipe', 'pipe', 'inherit'] });
}

/** Fails, rather than hangs, if the child dies before saying `line`. */
async function readyLine(child: ChildProcess, line = 'ready\n'): Promise<void> {
  const first = await Promise.race([once(child.stdout!, 'data') as Promise<[Buffer]>, once(child, 'exit').then(() => null)]);
  assert.ok(first !== null, `the child exited before saying ${JSON.stringify(line)}`);
  assert.equal(first[0].toString(), line);
}

test('processes using both flavours at once never lose an update under the lock', async (t) => {
  const dir = tempDir(t);
  const ROUNDS = 60;
  writeFileSync(join(dir, 'counter'), '0');
  const names = ['sync-a', 'sync-b', 'async-a', 'async-b'];
  const children = names.map((name) => startChild(counterSource, [dir, name.split('-')[0]!, name, String(ROUNDS)]));
  await Promise.all(children.map((child) => readyLine(child)));
  const exits = children.map((child) => once(child, 'exit'));
  for (const child of children) child.stdin!.end('go\n');
  assert.deepEqual(await Promise.all(exits), names.map(() => [0, null]));

  assert.equal(readFileSync(join(dir, 'counter'), 'utf8'), String(names.length * ROUNDS));
  const turns = readFileSync(join(dir, 'turns'), 'utf8').trim().split('\n');
  for (const name of names) assert.equal(turns.filter((turn) => turn === name).length, ROUNDS, name);
  // The scenario only tests the lock if the processes actually took turns.
  const handovers = turns.filter((turn, i) => i > 0 && turn !== turns[i - 1]).length;
  assert.ok(handovers > 1, `processes never interleaved (${handovers} handovers)`);
  assert.deepEqual(readdirSync(dir).sort(), ['counter', 'turns']);
});

const holderSource = `
const { withLockSync } = await import(process.argv[1]);
withLockSync(process.argv[2], { timeoutMs: 1000 }, () => {
  process.stdout.write('held\\n');
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0);
});
`;

test('a lock held by another live process is respected; once that process is killed with SIGKILL, the lock is broken at once', async (t) => {
  const path = join(tempDir(t), 'data.lock');
  const holder = startChild(holderSource, [path]);
  t.after(() => holder.kill('SIGKILL'));
  const exited = once(holder, 'exit');
  await readyLine(holder, 'held\n');
  const content = readFileSync(path, 'utf8');
  assert.equal(JSON.parse(content).pid, holder.pid);
  assert.throws(() => withLockSync(path, { timeoutMs: 50 }, () => {}), isTimeout(path, 50));
  await assert.rejects(acquireLock(path, { timeoutMs: 50 }), isTimeout(path, 50));
  assert.equal(readFileSync(path, 'utf8'), content);

  holder.kill('SIGKILL');
  await exited;
  assert.equal(existsSync(path), true, 'a killed holder cannot clean up');
  assert.equal(
    withLockSync(path, { timeoutMs: 0 }, () => 'taken over'),
    'taken over',
  );
  assert.equal(existsSync(path), false);
});

import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fsyncDirectory, writeFileAtomic, writeFileAtomicAsync } from '../../src/shared/atomicFile.js';

const atomicModule = new URL('../../src/shared/atomicFile.js', import.meta.url).href;

function tempDir(t: TestContext): string {
  const dir = mkdtempSync(join(tmpdir(), 'futu-atomic-test-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

async function withUmask<T>(mask: number, run: () => Promise<T>): Promise<T> {
  const previous = process.umask(mask);
  try {
    return await run();
  } finally {
    process.umask(previous);
  }
}

/** Both forms must behave alike; the ledger uses the asynchronous one on the server's event loop. */
const WRITERS: readonly [string, (path: string, data: string | Uint8Array, mode: number) => Promise<void>][] = [
  ['writeFileAtomic', async (path, data, mode) => writeFileAtomic(path, data, mode)],
  ['writeFileAtomicAsync', writeFileAtomicAsync],
];

for (const [name, write] of WRITERS) {
  test(`${name}: a new file gets exactly the mode asked for whatever the umask, and no temp file is left`, async (t) => {
    const dir = tempDir(t);
    const open = join(dir, 'open.json');
    const tight = join(dir, 'tight.json');
    await withUmask(0, () => write(open, '{"a":1}', 0o600));
    await withUmask(0o077, () => write(tight, Buffer.from([0, 1, 2, 255]), 0o640));
    assert.equal(statSync(open).mode & 0o777, 0o600);
    assert.equal(statSync(tight).mode & 0o777, 0o640);
    assert.equal(readFileSync(open, 'utf8'), '{"a":1}');
    assert.deepEqual([...readFileSync(tight)], [0, 1, 2, 255]);
    assert.deepEqual(readdirSync(dir).sort(), ['open.json', 'tight.json']);
  });

  test(`${name}: an existing file is replaced by a new one, and a wide mode of the old file is not inherited`, async (t) => {
    const dir = tempDir(t);
    const file = join(dir, 'state.json');
    writeFileSync(file, 'old content that is longer than the new one', { mode: 0o644 });
    const before = statSync(file).ino;
    await write(file, 'new', 0o600);
    assert.equal(readFileSync(file, 'utf8'), 'new');
    assert.equal(statSync(file).mode & 0o777, 0o600);
    assert.notEqual(statSync(file).ino, before, 'replaced by rename, not rewritten in place');
    assert.deepEqual(readdirSync(dir), ['state.json']);
  });

  test(`${name}: a failed replace throws, leaves no temp file and leaves the target as it was`, async (t) => {
    const dir = tempDir(t);
    // A directory where the file should be: the rename fails for real.
    const blocked = join(dir, 'state.json');
    mkdirSync(join(blocked, 'inside'), { recursive: true });
    await assert.rejects(write(blocked, 'x', 0o600), (err: NodeJS.ErrnoException) => err.code === 'EISDIR' || err.code === 'ENOTEMPTY');
    assert.deepEqual(readdirSync(dir), ['state.json']);
    assert.deepEqual(readdirSync(blocked), ['inside']);

    // The parent directory is the caller's to create.
    await assert.rejects(write(join(dir, 'missing', 'state.json'), 'x', 0o600), { code: 'ENOENT' });
    assert.equal(existsSync(join(dir, 'missing')), false);
  });
}

test('fsyncDirectory syncs an existing directory and reports a missing one', (t) => {
  const dir = tempDir(t);
  fsyncDirectory(dir);
  assert.throws(() => fsyncDirectory(join(dir, 'missing')), { code: 'ENOENT' });
});

/** Rewrites the file with two large contents in turn until `<dir>/stop` exists. */
const writerSource = `
import { existsSync } from 'node:fs';
const { writeFileAtomic } = await import(process.argv[1]);
const [file, dir] = process.argv.slice(2);
const versions = ['a', 'b'].map((c) => c.repeat(256 * 1024));
process.stdout.write('ready\\n');
for (let i = 0; !existsSync(dir + '/stop'); i++) writeFileAtomic(file, versions[i % 2], 0o600);
`;

test('a reader in another process only ever sees a whole old or whole new file', async (t) => {
  const dir = tempDir(t);
  const file = join(dir, 'big.txt');
  const versions = ['a', 'b'].map((c) => c.repeat(256 * 1024));
  writeFileAtomic(file, versions[0]!, 0o600);
  const writer = spawn(process.execPath, ['--input-type=module', '-e', writerSource, atomicModule, file, dir], { stdio: ['ignore', 'pipe', 'inherit'] });
  const exited = once(writer, 'exit');
  const ready = await Promise.race([once(writer.stdout!, 'data').then(() => true), exited.then(() => false)]);
  assert.ok(ready, 'the writer exited before it was ready');

  // Keep reading until the content has changed under us many times, so the check saw real swaps.
  try {
    let changes = 0;
    let last = readFileSync(file, 'utf8');
    for (let reads = 0; changes < 20; reads++) {
      if (reads % 50 === 49) {
        // Lets the exit event through, so a writer that died fails the test instead of hanging it.
        await new Promise(setImmediate);
        assert.equal(writer.exitCode, null, 'the writer exited early');
      }
      const now = readFileSync(file, 'utf8');
      assert.ok(now === versions[0] || now === versions[1], `read ${reads} saw a partial file of ${now.length} bytes`);
      if (now !== last) changes += 1;
      last = now;
    }
  } catch (err) {
    // Here, not in t.after: those hooks run in order, and removing the directory first would race the writer.
    writer.kill('SIGKILL');
    throw err;
  }
  writeFileSync(join(dir, 'stop'), '');
  assert.deepEqual(await exited, [0, null]);
  assert.deepEqual(readdirSync(dir).sort(), ['big.txt', 'stop']);
});

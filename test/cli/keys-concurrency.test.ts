import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { KeyStore } from '../../src/keys/store.js';
import { runFutucli, runFutucliAsync, tempDir } from '../helpers/futucli.js';

test('concurrent futucli runs never lose each other’s changes', async (t) => {
  const file = join(tempDir(t), 'keys.json');
  const ids = Array.from({ length: 8 }, (_, i) => `bot-${i}`);
  const runs = await Promise.all(
    ids.map((id) => runFutucliAsync(['-o', 'json', '--keys-file', file, 'gen-key', '--id', id, '--scopes', 'qot:read'])),
  );
  for (const run of runs) assert.equal(run.status, 0, run.stdout + run.stderr);
  const store = KeyStore.open(file);
  assert.deepEqual(store.list().map((record) => record.id).sort(), ids);
  for (const run of runs) {
    const { id, key } = JSON.parse(run.stdout);
    assert.equal(store.authenticate(key).id, id);
  }
  assert.equal(existsSync(`${file}.lock`), false);
});

test('a revoke racing a gen-key cannot resurrect the revoked key', async (t) => {
  const file = join(tempDir(t), 'keys.json');
  const victims = Array.from({ length: 4 }, (_, i) => `old-${i}`);
  for (const id of victims) runFutucli(['--keys-file', file, 'gen-key', '--id', id, '--scopes', 'qot:read']);
  await Promise.all([
    ...victims.map((id) => runFutucliAsync(['--keys-file', file, 'revoke-key', id])),
    ...[0, 1, 2, 3].map((i) => runFutucliAsync(['--keys-file', file, 'gen-key', '--id', `new-${i}`, '--scopes', 'qot:read'])),
  ]);
  assert.deepEqual(KeyStore.open(file).list().map((record) => record.id).sort(), ['new-0', 'new-1', 'new-2', 'new-3']);
});

test('a lock left behind by a crashed futucli is taken over', (t) => {
  const dir = tempDir(t);
  const file = join(dir, 'keys.json');
  const gone = spawnSync(process.execPath, ['-e', '']).pid;
  writeFileSync(`${file}.lock`, String(gone));
  const run = runFutucli(['--keys-file', file, 'gen-key', '--id', 'after-crash', '--scopes', 'qot:read']);
  assert.equal(run.status, 0, run.stderr);
  assert.equal(KeyStore.open(file).getById('after-crash').id, 'after-crash');
  assert.equal(existsSync(`${file}.lock`), false);
});

test('a lock held by a running process is respected and reported', (t) => {
  const dir = join(tempDir(t), 'conf');
  mkdirSync(dir);
  const file = join(dir, 'keys.json');
  // This test process is alive, so its pid marks a live owner.
  writeFileSync(`${file}.lock`, String(process.pid));
  const run = runFutucli(['-o', 'json', '--keys-file', file, 'gen-key', '--id', 'blocked', '--scopes', 'qot:read']);
  assert.notEqual(run.status, 0);
  assert.deepEqual(JSON.parse(run.stdout).error, {
    code: 'KEYS_FILE_LOCKED',
    message: `keys file is being changed by another futucli (lock ${file}.lock); if none is running, delete the lock file`,
  });
  assert.equal(existsSync(file), false);
  assert.equal(readFileSync(`${file}.lock`, 'utf8'), String(process.pid));
});

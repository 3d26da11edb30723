import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { spawnSync } from 'node:child_process';
import { AuditLog } from '../../src/audit/index.js';
import { fileLines, readCall, rejectedOrder, tempDir, writeLines } from './fixtures.js';

const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));
const futucliBin = fileURLToPath(new URL('../../src/cli/futucli.js', import.meta.url));

function futucli(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const run = spawnSync(process.execPath, [futucliBin, ...args], { cwd: repoRoot, encoding: 'utf8' });
  return { status: run.status, stdout: run.stdout, stderr: run.stderr };
}

async function threeRecordLog(dir: string): Promise<{ file: string; head: string }> {
  const file = path.join(dir, 'audit.jsonl');
  const audit = AuditLog.open(file);
  await audit.append(readCall());
  await audit.append(rejectedOrder());
  await audit.append(readCall({ tool: 'futu_get_kline' }));
  await audit.close();
  return { file, head: audit.head.hash };
}

test('audit verify: an intact log prints OK with the head and exits 0', async (t) => {
  const { file, head } = await threeRecordLog(tempDir(t));
  assert.deepEqual(futucli('audit', 'verify', file), { status: 0, stdout: `OK: 3 records, head ${head}\n`, stderr: '' });
  assert.deepEqual(futucli('audit', 'verify', file, '--expect-head', head), { status: 0, stdout: `OK: 3 records, head ${head}\n`, stderr: '' });
  const json = futucli('-o', 'json', 'audit', 'verify', file);
  assert.equal(json.status, 0);
  assert.deepEqual(JSON.parse(json.stdout), { ok: true, records: 3, head });
});

test('audit verify: a tampered or cut log prints BROKEN with the line and exits 1', async (t) => {
  const { file, head } = await threeRecordLog(tempDir(t));
  const lines = fileLines(file);
  writeLines(file, [lines[0]!, lines[1]!.replace('"reject"', '"success"'), lines[2]!]);
  assert.deepEqual(futucli('audit', 'verify', file), {
    status: 1,
    stdout: 'BROKEN at line 2: hash does not match the record content: the record was altered\n',
    stderr: '',
  });
  const json = futucli('audit', 'verify', file, '-o', 'json');
  assert.equal(json.status, 1);
  assert.deepEqual(JSON.parse(json.stdout), { ok: false, line: 2, reason: 'hash does not match the record content: the record was altered' });

  writeLines(file, lines.slice(0, 2));
  assert.equal(futucli('audit', 'verify', file).status, 0, 'without an anchor the cut is invisible');
  const anchored = futucli('audit', 'verify', file, '--expect-head', head);
  assert.equal(anchored.status, 1);
  assert.match(anchored.stdout, new RegExp(`^BROKEN at line 3: expected head ${head} is not in the log`));
});

test('audit verify: a rotated log verifies as one chain with its predecessor, oldest first, and not alone', async (t) => {
  const { file } = await threeRecordLog(tempDir(t));
  const lines = fileLines(file);
  const older = `${file}.1`;
  writeLines(older, lines.slice(0, 2));
  writeLines(file, lines.slice(2));
  assert.equal(futucli('audit', 'verify', older, file).status, 0);
  assert.match(futucli('audit', 'verify', older, file).stdout, /^OK: 3 records, head /);
  const alone = futucli('audit', 'verify', file);
  assert.equal(alone.status, 1);
  assert.match(alone.stdout, /^BROKEN at line 1: the chain starts at seq 3: /);
  const reversed = futucli('audit', 'verify', file, older);
  assert.equal(reversed.status, 1);
  assert.match(reversed.stdout, new RegExp(`^BROKEN at ${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} line 1: the chain starts at seq 3`));
});

test('audit verify: an unreadable file or a malformed anchor exits 2 with an error', async (t) => {
  const dir = tempDir(t);
  const missing = futucli('audit', 'verify', path.join(dir, 'absent.jsonl'));
  assert.equal(missing.status, 2);
  assert.equal(missing.stdout, '');
  assert.match(missing.stderr, /^error: cannot read audit log: ENOENT/);

  const missingJson = futucli('-o', 'json', 'audit', 'verify', path.join(dir, 'absent.jsonl'));
  assert.equal(missingJson.status, 2);
  assert.equal((JSON.parse(missingJson.stdout) as { error: { code: string } }).error.code, 'AUDIT_READ_FAILED');

  const { file } = await threeRecordLog(dir);
  const badAnchor = futucli('audit', 'verify', file, '--expect-head', 'abc');
  assert.deepEqual(badAnchor, { status: 2, stdout: '', stderr: 'error: --expect-head must be a record hash: 64 hex characters\n' });
});

/** A replica's own log: `n` records, each naming the replica that wrote it. */
async function replicaLog(dir: string, replica: string, n: number): Promise<{ file: string; head: string }> {
  const file = path.join(dir, `${replica}.jsonl`);
  const audit = AuditLog.open(file, { replica });
  for (let i = 0; i < n; i++) await audit.append(readCall({ tool: i % 2 ? 'futu_get_kline' : 'futu_get_quote' }));
  await audit.close();
  return { file, head: audit.head.hash };
}

test('audit verify --chains: each replica log is its own chain, the replica id of its records is reported; one broken chain fails the lot', async (t) => {
  const dir = tempDir(t);
  const logs = [await replicaLog(dir, 'host-a:101:aaaa0001', 3), await replicaLog(dir, 'host-b:202:bbbb0002', 2), await replicaLog(dir, 'host-c:303:cccc0003', 4)];
  for (const { file } of logs) assert.ok(fileLines(file).every((line) => JSON.parse(line).replica === path.basename(file, '.jsonl')), 'every record names its replica');
  const files = logs.map((l) => l.file);

  const json = futucli('-o', 'json', 'audit', 'verify', '--chains', ...files);
  assert.equal(json.status, 0, json.stderr);
  assert.deepEqual(JSON.parse(json.stdout), {
    ok: true,
    chains: logs.map(({ file, head }, i) => ({ file, ok: true, records: [3, 2, 4][i], head, replicas: [path.basename(file, '.jsonl')] })),
  });
  const text = futucli('audit', 'verify', '--chains', ...files);
  assert.equal(text.stdout, logs.map(({ file, head }, i) => `${file}: OK: ${[3, 2, 4][i]} records, head ${head}; written by replica ${path.basename(file, '.jsonl')}\n`).join(''));
  assert.equal(futucli('audit', 'verify', ...files).status, 1, 'without --chains the files are one chain, which they are not');

  // A record rewritten to name another replica breaks its chain, and only that one.
  const lines = fileLines(files[1]!);
  writeLines(files[1]!, [lines[0]!.replace('host-b:202:bbbb0002', 'host-a:101:aaaa0001'), lines[1]!]);
  const broken = futucli('-o', 'json', 'audit', 'verify', '--chains', ...files);
  assert.equal(broken.status, 1);
  const chains = (JSON.parse(broken.stdout) as { ok: boolean; chains: { ok: boolean; line?: number }[] }).chains;
  assert.deepEqual(chains.map((c) => [c.ok, c.line]), [[true, undefined], [false, 1], [true, undefined]]);

  const unreadable = futucli('audit', 'verify', '--chains', files[0]!, path.join(dir, 'absent.jsonl'));
  assert.equal(unreadable.status, 2, 'a chain that cannot be read: exit 2');
  assert.match(unreadable.stdout, /absent\.jsonl: could not check \(AUDIT_READ_FAILED\): cannot read audit log: ENOENT/);
  assert.equal(futucli('audit', 'verify', '--chains', files[0]!, '--expect-head', logs[0]!.head).status, 2, '--expect-head belongs to one chain');
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { AuditLog, verifyAuditLog } from '../../src/audit/index.js';
import { rotatedFiles } from '../../src/audit/rotation.js';
import { runFutucli } from '../helpers/futucli.js';
import { fileRecords, readCall, tempDir } from './fixtures.js';

const auditModule = new URL('../../src/audit/index.js', import.meta.url).href;

/** Appends `count` records (latency_ms 0..count-1, tool = its name) in bursts of 10, rotating at `maxBytes`. */
const appenderSource = `
import { AuditLog } from ${JSON.stringify(auditModule)};
const [file, tool, count, maxBytes, template] = process.argv.slice(1);
const audit = AuditLog.open(file, { rotation: { maxBytes: Number(maxBytes) } });
process.stdout.write('ready\\n');
process.stdin.once('data', async () => {
  for (let i = 0; i < Number(count); i += 10) {
    await Promise.all(Array.from({ length: 10 }, (_, j) => audit.append({ ...JSON.parse(template), tool, latency_ms: i + j })));
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
  await audit.close();
  process.exit(0);
});
`;

function chainFiles(file: string): string[] {
  return [...rotatedFiles(file).map((entry) => entry.path), file];
}

function allRecords(files: readonly string[]): Record<string, unknown>[] {
  return files.flatMap((file) => fileRecords(file));
}

test('size rotation under two processes appending at once keeps one verifiable chain and loses no record', async (t) => {
  const file = path.join(tempDir(t), 'audit.jsonl');
  const template = JSON.stringify(readCall());
  const children = await Promise.all(
    ['proc_a', 'proc_b'].map(async (tool) => {
      const child = spawn(process.execPath, ['--input-type=module', '-e', appenderSource, file, tool, '300', '16384', template], { stdio: ['pipe', 'pipe', 'inherit'] });
      await once(child.stdout!, 'data');
      return child;
    }),
  );
  const exits = children.map((child) => once(child, 'exit'));
  for (const child of children) child.stdin!.end('go\n');
  assert.deepEqual(await Promise.all(exits), [[0, null], [0, null]]);

  const files = chainFiles(file);
  assert.ok(files.length >= 5, `expected several rotations, got ${files.length} files`);
  assert.deepEqual(verifyAuditLog(files), { ok: true, records: 600, head: allRecords(files).at(-1)!.hash });
  const records = allRecords(files);
  for (const tool of ['proc_a', 'proc_b']) {
    const latencies = records.filter((record) => record.tool === tool).map((record) => record.latency_ms as number);
    assert.deepEqual([...latencies].sort((a, b) => a - b), Array.from({ length: 300 }, (_, i) => i), `${tool} lost or duplicated a record`);
  }
  // Every rotated file but the last is full; none is much past the limit (one batch at most).
  for (const rotated of files.slice(0, -1)) {
    const size = fs.statSync(rotated).size;
    assert.ok(size >= 16384 && size < 16384 + 20 * 1024, `${rotated}: ${size} bytes`);
  }
  // Each file after the first begins where the previous one ended.
  for (let i = 1; i < files.length; i++) {
    assert.equal(fileRecords(files[i]!)[0]!.prev_hash, fileRecords(files[i - 1]!).at(-1)!.hash);
  }
});

test('--audit-keep deletes the oldest rotated files, --audit-gzip compresses the rest, and verify --with-rotated checks what is kept', async (t) => {
  const dir = tempDir(t);
  const file = path.join(dir, 'audit.jsonl');
  const audit = AuditLog.open(file, { rotation: { maxBytes: 4096, keep: 3, gzip: true } });
  const appended = [];
  for (let i = 0; i < 400; i += 10) appended.push(...(await Promise.all(Array.from({ length: 10 }, (_, j) => audit.append(readCall({ latency_ms: i + j }))))));
  await audit.close();

  const rotated = rotatedFiles(file);
  assert.equal(rotated.length, 3);
  assert.ok(rotated.every((entry) => entry.path.endsWith('.gz')), JSON.stringify(rotated));
  assert.ok(rotated[0]!.number > 1);
  assert.deepEqual(fs.readdirSync(dir).filter((name) => name.endsWith('.tmp')), []);
  assert.equal(fs.statSync(rotated[0]!.path).mode & 0o777, 0o600);

  // Without the flag the deleted head shows; with it the kept files verify from their first record.
  const plain = verifyAuditLog(rotated.map((entry) => entry.path).concat(file));
  assert.equal(plain.ok, false);
  const run = runFutucli(['-o', 'json', 'audit', 'verify', '--with-rotated', file]);
  assert.equal(run.status, 0, run.stdout + run.stderr);
  const result = JSON.parse(run.stdout);
  assert.equal(result.ok, true);
  assert.equal(result.head, appended.at(-1)!.hash);
  assert.ok(result.from_seq > 1);
  assert.equal(result.records, 400 - result.from_seq + 1);

  // A record altered inside a compressed file is still caught.
  const [first] = rotated;
  const { gunzipSync, gzipSync } = await import('node:zlib');
  const text = gunzipSync(fs.readFileSync(first!.path)).toString().replace('"latency_ms":', '"latency_ms":1');
  fs.writeFileSync(first!.path, gzipSync(text));
  const broken = runFutucli(['-o', 'json', 'audit', 'verify', '--with-rotated', file]);
  assert.equal(broken.status, 1);
  assert.equal(JSON.parse(broken.stdout).file, first!.path);
});

test('daily rotation starts a new file with the first record of a new UTC day', async (t) => {
  const file = path.join(tempDir(t), 'audit.jsonl');
  let now = new Date('2026-12-01T23:59:58.000Z');
  const audit = AuditLog.open(file, { rotation: { daily: true }, clock: () => now });
  await Promise.all([audit.append(readCall()), audit.append(readCall())]);
  await audit.append(readCall());
  now = new Date('2026-12-02T00:00:01.000Z');
  await audit.append(readCall());
  await audit.append(readCall());
  await audit.close();

  // Reopened on the same day: no rotation; the next day: one more.
  const again = AuditLog.open(file, { rotation: { daily: true }, clock: () => now });
  await again.append(readCall());
  now = new Date('2026-12-03T08:00:00.000Z');
  await again.append(readCall());
  await again.close();

  const files = chainFiles(file);
  assert.deepEqual(files.map((f) => path.basename(f)), ['audit.jsonl.1', 'audit.jsonl.2', 'audit.jsonl']);
  assert.deepEqual(files.map((f) => fileRecords(f).map((r) => (r.timestamp as string).slice(0, 10))), [
    ['2026-12-01', '2026-12-01', '2026-12-01'],
    ['2026-12-02', '2026-12-02', '2026-12-02'],
    ['2026-12-03'],
  ]);
  assert.equal(verifyAuditLog(files).ok, true);
});

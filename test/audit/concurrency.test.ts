import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { verifyAuditLog } from '../../src/audit/index.js';
import { fileRecords, readCall, tempDir } from './fixtures.js';

const RECORDS_PER_PROCESS = 200;
const auditModule = new URL('../../src/audit/index.js', import.meta.url).href;

/**
 * A futu-mcp stand-in: opens the log, says "ready", and on any stdin input appends its records with
 * a pause between them, as tool calls have (back-to-back appends would let one writer hold the lock
 * almost continuously and the test would only ever see one writer at a time).
 */
const appenderSource = `
import { AuditLog } from ${JSON.stringify(auditModule)};
const [file, tool, count, template] = process.argv.slice(1);
const audit = AuditLog.open(file);
process.stdout.write('ready\\n');
process.stdin.once('data', async () => {
  for (let i = 0; i < Number(count); i++) {
    await audit.append({ ...JSON.parse(template), tool, latency_ms: i });
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
  await audit.close();
  process.exit(0);
});
`;

function startAppender(file: string, tool: string): ChildProcess {
  const template = JSON.stringify(readCall());
  return spawn(process.execPath, ['--input-type=module', '-e', appenderSource, file, tool, String(RECORDS_PER_PROCESS), template], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
}

async function readyLine(child: ChildProcess): Promise<void> {
  const [chunk] = (await once(child.stdout!, 'data')) as [Buffer];
  assert.equal(chunk.toString(), 'ready\n');
}

test('two processes appending to one file at once keep a single verifiable chain', async (t) => {
  const file = path.join(tempDir(t), 'shared-audit.jsonl');
  const children = [startAppender(file, 'proc_a'), startAppender(file, 'proc_b')];
  await Promise.all(children.map(readyLine));
  const exits = children.map((child) => once(child, 'exit'));
  for (const child of children) child.stdin!.end('go\n');
  assert.deepEqual(await Promise.all(exits), [[0, null], [0, null]]);

  const result = verifyAuditLog(file);
  assert.equal(result.ok, true, JSON.stringify(result));
  const tools = fileRecords(file).map((r) => r.tool);
  assert.equal(tools.length, 2 * RECORDS_PER_PROCESS);
  assert.equal(tools.filter((tool) => tool === 'proc_a').length, RECORDS_PER_PROCESS);
  // The scenario only tests the lock if the writers actually took turns.
  const handovers = tools.filter((tool, i) => i > 0 && tool !== tools[i - 1]).length;
  assert.ok(handovers > 1, `writers never interleaved (${handovers} handovers)`);
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { verifyAuditLog } from '../../src/audit/index.js';
import { fileRecords, readCall, tempDir } from './fixtures.js';

const auditModule = new URL('../../src/audit/index.js', import.meta.url).href;
const lockModule = new URL('../../src/shared/fileLock.js', import.meta.url).href;

/**
 * A futu-mcp stand-in: opens the log, says "ready", and on any stdin input appends `rounds`
 * bursts of `burst` records, each burst issued in one turn and awaited, with a pause between
 * bursts as tool calls have (back-to-back appends would let one writer hold the lock almost
 * continuously and the test would only ever see one writer at a time). Record i of the process
 * carries latency_ms i. On exit it reports how many times it took the lock (the acquireLock seam).
 */
const appenderSource = `
import { AuditLog } from ${JSON.stringify(auditModule)};
import { acquireLock } from ${JSON.stringify(lockModule)};
const [file, tool, rounds, burst, template] = process.argv.slice(1);
let acquisitions = 0;
const audit = AuditLog.open(file, { acquireLock: (lock, options) => (acquisitions++, acquireLock(lock, options)) });
process.stdout.write('ready\\n');
process.stdin.once('data', async () => {
  for (let round = 0; round < Number(rounds); round++) {
    const records = Array.from({ length: Number(burst) }, (_, i) => ({ ...JSON.parse(template), tool, latency_ms: round * Number(burst) + i }));
    await Promise.all(records.map((record) => audit.append(record)));
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
  await audit.close();
  process.stdout.write(\`acquisitions \${acquisitions}\\n\`);
  process.exit(0);
});
`;

interface Appender {
  readonly tool: string;
  readonly child: ChildProcess;
  /** Everything it printed after "ready". */
  readonly output: Promise<string>;
}

async function startAppender(file: string, tool: string, rounds: number, burst: number): Promise<Appender> {
  const template = JSON.stringify(readCall());
  const child = spawn(process.execPath, ['--input-type=module', '-e', appenderSource, file, tool, String(rounds), String(burst), template], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const [ready] = (await once(child.stdout!, 'data')) as [Buffer];
  assert.equal(ready.toString(), 'ready\n');
  const output = (async () => {
    let text = '';
    for await (const chunk of child.stdout!) text += String(chunk);
    return text;
  })();
  return { tool, child, output };
}

/** Starts two appenders at once and returns the file's records once both have exited cleanly. */
async function runTwo(file: string, rounds: number, burst: number): Promise<{ tools: unknown[]; outputs: string[] }> {
  const appenders = await Promise.all(['proc_a', 'proc_b'].map((tool) => startAppender(file, tool, rounds, burst)));
  const exits = appenders.map(({ child }) => once(child, 'exit'));
  for (const { child } of appenders) child.stdin!.end('go\n');
  assert.deepEqual(await Promise.all(exits), [[0, null], [0, null]]);
  const outputs = await Promise.all(appenders.map(({ output }) => output));

  const result = verifyAuditLog(file);
  assert.equal(result.ok, true, JSON.stringify(result));
  const tools = fileRecords(file).map((r) => r.tool);
  assert.equal(tools.length, 2 * rounds * burst);
  assert.equal(tools.filter((tool) => tool === 'proc_a').length, rounds * burst);
  // The scenario only tests the lock if the writers actually took turns.
  const handovers = tools.filter((tool, i) => i > 0 && tool !== tools[i - 1]).length;
  assert.ok(handovers > 1, `writers never interleaved (${handovers} handovers)`);
  return { tools, outputs };
}

test('two processes appending to one file at once keep a single verifiable chain', async (t) => {
  await runTwo(path.join(tempDir(t), 'shared-audit.jsonl'), 200, 1);
});

test('two processes appending in batches: a burst takes the lock at most once and lands contiguous, in call order', async (t) => {
  const file = path.join(tempDir(t), 'shared-audit.jsonl');
  const rounds = 40;
  const burst = 10;
  const { outputs } = await runTwo(file, rounds, burst);

  // A writer keeps the lock from burst to burst until the other announces itself (the lease).
  for (const output of outputs) {
    const acquisitions = Number(/^acquisitions (\d+)\n$/.exec(output)?.[1]);
    assert.ok(acquisitions >= 1 && acquisitions <= rounds, `took the lock ${acquisitions} times for ${rounds} bursts`);
  }
  const records = fileRecords(file);
  for (const tool of ['proc_a', 'proc_b']) {
    const mine = records.flatMap((r, line) => (r.tool === tool ? [{ line, latency: r.latency_ms as number }] : []));
    assert.deepEqual(mine.map((r) => r.latency), Array.from({ length: rounds * burst }, (_, i) => i), `${tool}: file order is not call order`);
    for (let first = 0; first < mine.length; first += burst) {
      const lines = mine.slice(first, first + burst).map((r) => r.line);
      assert.equal(lines.at(-1)! - lines[0]!, burst - 1, `${tool}: burst ${first / burst} was split by the other writer (lines ${lines.join(',')})`);
    }
  }
});

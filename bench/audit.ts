import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { AuditLog, hashArguments, type ToolCallEvent } from '../src/audit/index.js';
import { canonicalJson } from '../src/audit/canonical.js';
import { recordHash } from '../src/audit/chain.js';

const RECORDS = 1_000;
const CONCURRENT_RECORDS = 20_000;
const IN_FLIGHT = 64;

const sampleCall: ToolCallEvent = {
  event: 'tool_call',
  transport: 'stdio',
  tool: 'futu_place_order',
  key_id: 'claude-bot',
  decision: 'deny',
  outcome: 'reject',
  reason: 'limit: rate limit exceeded: 5 in 60s (cap 3)',
  code: 'RATE_LIMIT',
  scope: 'trade:simulate',
  args_hash: hashArguments({ symbol: 'HK.00700', qty: 100, price: 320.5, side: 'BUY', env: 'simulate' }),
  policy_version: 'v1',
  policies: ['limit-rate'],
  session_id: null,
  latency_ms: 0.42,
};

function microsPerRecord(run: () => void): number {
  const start = process.hrtime.bigint();
  for (let i = 0; i < RECORDS; i++) run();
  return Number(process.hrtime.bigint() - start) / 1_000 / RECORDS;
}

/** One caller awaiting each append: the latency a lone tool call pays. */
async function sequential(audit: AuditLog): Promise<number> {
  const start = process.hrtime.bigint();
  for (let i = 0; i < RECORDS; i++) await audit.append(sampleCall);
  return Number(process.hrtime.bigint() - start) / 1_000 / RECORDS;
}

/**
 * IN_FLIGHT callers, each appending again as soon as its previous record is durable. CPU time is
 * the whole process's (event loop and thread pool): what the audit log takes from the server's budget.
 */
async function concurrent(audit: AuditLog): Promise<{ perSecond: number; cpuMicrosPerRecord: number }> {
  let issued = 0;
  const caller = async (): Promise<void> => {
    while (issued < CONCURRENT_RECORDS) {
      issued += 1;
      await audit.append(sampleCall);
    }
  };
  const start = process.hrtime.bigint();
  const cpuBefore = process.cpuUsage();
  await Promise.all(Array.from({ length: IN_FLIGHT }, caller));
  const cpu = process.cpuUsage(cpuBefore);
  return {
    perSecond: CONCURRENT_RECORDS / (Number(process.hrtime.bigint() - start) / 1e9),
    cpuMicrosPerRecord: (cpu.user + cpu.system) / CONCURRENT_RECORDS,
  };
}

/** Prints the cost of a durable append alone and under load, and how much of it is serializing and hashing. */
export async function benchAudit(): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'futu-audit-bench-'));
  try {
    let syncs = 0;
    const audit = AuditLog.open(path.join(dir, 'audit.jsonl'), {
      // The test seam, used here only to count: how many records one fdatasync settles.
      fdatasync: (fd, done) => {
        syncs += 1;
        fs.fdatasync(fd, done);
      },
    });
    const append = await sequential(audit);
    const sequentialSyncs = syncs;
    const { perSecond, cpuMicrosPerRecord } = await concurrent(audit);
    const concurrentSyncs = syncs - sequentialSyncs;
    const record = await audit.append(sampleCall);
    await audit.close();
    const seal = microsPerRecord(() => canonicalJson({ ...record, hash: recordHash(record as unknown as Record<string, unknown>) }));
    console.log(`audit append, sequential (lock + write + fdatasync): ${append.toFixed(1)} µs/record over ${RECORDS} records, ${(RECORDS / sequentialSyncs).toFixed(1)} records/fdatasync`);
    console.log(
      `audit append, ${IN_FLIGHT} concurrent: ${Math.round(perSecond)} records/s over ${CONCURRENT_RECORDS} records, ` +
        `${(CONCURRENT_RECORDS / concurrentSyncs).toFixed(1)} records/fdatasync, ${cpuMicrosPerRecord.toFixed(1)} µs CPU/record`,
    );
    console.log(`canonical JSON + SHA-256 alone: ${seal.toFixed(1)} µs/record`);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) await benchAudit();

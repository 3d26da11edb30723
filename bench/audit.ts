import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { AuditLog, GENESIS_HASH, hashArguments, type ToolCallEvent } from '../src/audit/index.js';
import { prepareEvent, sealEvent } from '../src/audit/seal.js';
import { acquireLock } from '../src/shared/fileLock.js';

const RECORDS = 1_000;
const CONCURRENT_RECORDS = 20_000;
const IN_FLIGHT = [64, 256] as const;

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
  // Untimed first round: the JIT has not seen these functions until now.
  for (let i = 0; i < RECORDS; i++) run();
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
 * `inFlight` callers, each appending again as soon as its previous record is durable. CPU time is
 * the whole process's (event loop and thread pool): what the audit log takes from the server's budget.
 */
async function concurrent(audit: AuditLog, inFlight: number): Promise<{ perSecond: number; cpuMicrosPerRecord: number }> {
  let issued = 0;
  const caller = async (): Promise<void> => {
    while (issued < CONCURRENT_RECORDS) {
      issued += 1;
      await audit.append(sampleCall);
    }
  };
  const start = process.hrtime.bigint();
  const cpuBefore = process.cpuUsage();
  await Promise.all(Array.from({ length: inFlight }, caller));
  const cpu = process.cpuUsage(cpuBefore);
  return {
    perSecond: CONCURRENT_RECORDS / (Number(process.hrtime.bigint() - start) / 1e9),
    cpuMicrosPerRecord: (cpu.user + cpu.system) / CONCURRENT_RECORDS,
  };
}

/** Prints the cost of a durable append alone and under load, and how much of it is sealing. */
export async function benchAudit(): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'futu-audit-bench-'));
  try {
    // The test seams, used here only to count lock acquisitions (the lease keeps one across
    // batches while appends keep coming) and how many records one fdatasync carries.
    let syncs = 0;
    let locks = 0;
    const audit = AuditLog.open(path.join(dir, 'audit.jsonl'), {
      fdatasync: (fd, done) => {
        syncs += 1;
        fs.fdatasync(fd, done);
      },
      acquireLock: (lockPath, options) => {
        locks += 1;
        return acquireLock(lockPath, options);
      },
    });
    const append = await sequential(audit);
    console.log(
      `audit append, sequential (write + fdatasync, lock kept): ${append.toFixed(1)} µs/record over ${RECORDS} records, ` +
        `${locks} lock acquisitions, ${(RECORDS / syncs).toFixed(1)} records/fdatasync`,
    );
    for (const inFlight of IN_FLIGHT) {
      [syncs, locks] = [0, 0];
      const { perSecond, cpuMicrosPerRecord } = await concurrent(audit, inFlight);
      console.log(
        `audit append, ${inFlight} concurrent: ${Math.round(perSecond)} records/s over ${CONCURRENT_RECORDS} records, ` +
          `${locks} lock acquisitions, ${(CONCURRENT_RECORDS / syncs).toFixed(1)} records/fdatasync, ` +
          `${cpuMicrosPerRecord.toFixed(1)} µs CPU/record`,
      );
    }
    await audit.close();
    const seal = microsPerRecord(() => sealEvent(prepareEvent(sampleCall), { seq: 1, hash: GENESIS_HASH }, new Date().toISOString()));
    console.log(`sealing alone (scrub + canonical JSON + SHA-256): ${seal.toFixed(1)} µs/record`);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) await benchAudit();

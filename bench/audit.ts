import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { AuditLog, hashArguments, type ToolCallEvent } from '../src/audit/index.js';
import { canonicalJson } from '../src/audit/canonical.js';
import { recordHash } from '../src/audit/chain.js';

const RECORDS = 1_000;

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

/** Prints the cost of one durable append, and how much of it is serializing and hashing. */
export async function benchAudit(): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'futu-audit-bench-'));
  try {
    const audit = AuditLog.open(path.join(dir, 'audit.jsonl'));
    const append = microsPerRecord(() => audit.append(sampleCall));
    const record = audit.append(sampleCall);
    audit.close();
    const seal = microsPerRecord(() => canonicalJson({ ...record, hash: recordHash(record as unknown as Record<string, unknown>) }));
    console.log(`audit append (lock + write + fdatasync): ${append.toFixed(1)} µs/record over ${RECORDS} records`);
    console.log(`  of which canonical JSON + SHA-256:  ${seal.toFixed(1)} µs/record`);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) await benchAudit();

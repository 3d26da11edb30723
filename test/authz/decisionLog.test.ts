/**
 * --decision-log at the library level: a line is the Cedar request as evaluated (read back, it
 * is the same request and replays to the same decision), a decision made outside Cedar writes
 * nothing, and a plaintext key that reached the request anyway never reaches the file.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { DecisionLog, readDecisionLog, recordedRequest } from '../../src/authz/decisionLog.js';
import { replayDecisions } from '../../src/authz/replay.js';
import { placeOrderRequest, shippedEngine, simBot, tempDir } from './fixtures.js';

test('a decision log line is the Cedar request as evaluated, replays to the same decision, and holds no plaintext key or key hash', async (t) => {
  const engine = shippedEngine();
  const key = simBot();
  const file = join(tempDir(t), 'decisions.jsonl');
  const log = DecisionLog.open(file);
  const allowed = engine.authorize(placeOrderRequest(1_000_000, key));
  const over = placeOrderRequest(6_000_000, key);
  // A plaintext key pasted where a string travels into the request (here the halt reason).
  const plaintext = `fc_${'ab'.repeat(32)}`;
  const denied = engine.authorize({ ...over, context: { ...over.context, haltReason: `pasted ${plaintext}` } });
  assert.deepEqual([allowed.allowed, denied.code], [true, 'LIMIT_EXCEEDED']);
  log.record(allowed, new Date('2026-11-20T02:00:00.000Z'));
  log.record({ ...allowed, request: undefined }, new Date('2026-11-20T02:00:01.000Z'));
  log.record(denied, new Date('2026-11-20T02:00:02.000Z'));
  await log.close();

  const text = readFileSync(file, 'utf8');
  assert.equal(statSync(file).mode & 0o777, 0o600);
  assert.ok(!text.includes(plaintext) && !text.includes(plaintext.slice(3)), 'the plaintext key reached the decision log');
  assert.ok(!text.includes(key.hash), 'the key hash reached the decision log');
  assert.match(text, /"haltReason":"pasted fc_\[REDACTED\]"/);

  const entries = readDecisionLog(file);
  assert.deepEqual(entries.map((e) => [e.line, e.entry.timestamp, e.entry.decision, e.entry.code, e.entry.policies]), [
    [1, '2026-11-20T02:00:00.000Z', 'allow', 'ALLOW', ['permit-trade-simulate']],
    [2, '2026-11-20T02:00:02.000Z', 'deny', 'LIMIT_EXCEEDED', ['order-value-limit']],
  ]);
  assert.deepEqual(Object.keys(entries[0]!.entry.principal.attrs).sort(), Object.keys(allowed.request!.principal.attrs!).sort());
  const reread = recordedRequest(entries[0]!.entry);
  assert.deepEqual(
    [reread.action, reread.principal.uid, reread.principal.attrs, reread.resource, reread.context, reread.requiredScope],
    [allowed.request!.action, allowed.request!.principal.uid, allowed.request!.principal.attrs, allowed.request!.resource, allowed.request!.context, allowed.request!.requiredScope],
  );
  assert.equal(entries[0]!.entry.policy_version, engine.version);
  const report = replayDecisions(entries, engine);
  assert.deepEqual([report.total, report.unchanged, report.changes], [2, 2, []]);
});

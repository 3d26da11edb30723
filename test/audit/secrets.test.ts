import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { AuditLog, hashArguments, verifyAuditLog, type ToolCallEvent } from '../../src/audit/index.js';
import { canonicalJson } from '../../src/audit/canonical.js';
import { readCall, tempDir } from './fixtures.js';

const PLAINTEXT_KEY = `fc_${'8a3f2b9c'.repeat(8)}`;

test('a plaintext-looking key anywhere in a record is redacted before it reaches the file', async (t) => {
  const file = path.join(tempDir(t), 'audit.jsonl');
  const audit = AuditLog.open(file);
  t.after(() => audit.close());
  const record = await audit.append(
    readCall({
      key_id: PLAINTEXT_KEY,
      reason: `invalid key ${PLAINTEXT_KEY.toUpperCase().replace('FC_', 'fc_')} presented`,
      policies: [`p-${PLAINTEXT_KEY}`],
    }),
  );
  const text = fs.readFileSync(file, 'utf8');
  assert.doesNotMatch(text, /8a3f2b9c8a3f2b9c/i);
  assert.equal(record.event === 'tool_call' && record.key_id, 'fc_[REDACTED]');
  assert.equal(record.event === 'tool_call' && record.reason, 'invalid key fc_[REDACTED] presented');
  assert.equal(verifyAuditLog(file).ok, true);
});

test('members named like secrets are redacted even if a caller smuggles them in', async (t) => {
  const file = path.join(tempDir(t), 'audit.jsonl');
  const audit = AuditLog.open(file);
  t.after(() => audit.close());
  const smuggled = { ...readCall(), api_key: 'hunter2', trade_password: 'hunter3', extra: { authToken: 'hunter4' } };
  await audit.append(smuggled as unknown as ToolCallEvent);
  const text = fs.readFileSync(file, 'utf8');
  assert.doesNotMatch(text, /hunter/);
  const stored = JSON.parse(text) as Record<string, unknown>;
  assert.deepEqual([stored.api_key, stored.trade_password, stored.extra], ['[REDACTED]', '[REDACTED]', { authToken: '[REDACTED]' }]);
});

test('args_hash: 16 hex, independent of key order and of secret-bearing members', () => {
  const args = { symbol: 'HK.00700', qty: 100, price: 320.5, env: 'simulate', remark: { note: 'x' } };
  const hash = hashArguments(args);
  assert.match(hash, /^[0-9a-f]{16}$/);
  assert.equal(hashArguments({ remark: { note: 'x' }, env: 'simulate', price: 320.5, qty: 100, symbol: 'HK.00700' }), hash);
  assert.equal(hashArguments({ ...args, api_key: PLAINTEXT_KEY }), hash);
  assert.equal(hashArguments({ ...args, api_key: 'fc_other', remark: { note: 'x', password: 'pw' } }), hash);
  assert.notEqual(hashArguments({ ...args, qty: 101 }), hash);
  assert.equal(hashArguments(undefined), hashArguments({}));
});

test('canonical JSON sorts keys at every depth and refuses values JSON cannot carry', () => {
  assert.equal(canonicalJson({ b: 1, a: [{ d: null, c: 'é' }], skipped: undefined }), '{"a":[{"c":"é","d":null}],"b":1}');
  for (const bad of [Number.NaN, Infinity, 1n, [undefined], [1, , 2], new Date(0), () => 1]) {
    assert.throws(() => canonicalJson(bad), TypeError);
  }
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { log, setLogSink } from '../../src/shared/log.js';

test('log lines censor secret-named fields and plaintext-key-shaped values, nested ones too', (t) => {
  const lines: string[] = [];
  setLogSink((line) => lines.push(line));
  t.after(() => setLogSink((line) => process.stderr.write(line + '\n')));
  const key = `fc_${'ab12'.repeat(16)}`;
  log.error('keys reload failed', {
    reason: `keys.json: key "bot": note: expected at most 200 characters, got "${key.slice(0, 40)}… and ${key}"`,
    details: { pasted: [key.toUpperCase()] },
    api_key: 'anything',
    short: 'fc_abc',
  });
  assert.equal(lines.length, 1);
  const line = lines[0]!;
  assert.ok(!line.includes(key.slice(3, 40)) && !line.toLowerCase().includes(key.slice(3, 40)), line);
  const record = JSON.parse(line) as Record<string, unknown>;
  assert.equal(record.api_key, '[REDACTED]');
  assert.equal(record.short, 'fc_abc', 'too short to be a key');
  assert.match(String(record.reason), /^keys\.json: key "bot": note: .* got "fc_\[REDACTED\]… and fc_\[REDACTED\]"$/);
  assert.deepEqual(record.details, { pasted: ['fc_[REDACTED]'] });
});

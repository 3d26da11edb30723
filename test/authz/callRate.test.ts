import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CallRateWindows } from '../../src/authz/callRate.js';
import { Authorizer } from '../../src/authz/authorizer.js';
import { LimitsLedger } from '../../src/authz/ledger.js';
import { caller, makeKey, shippedEngine, tempDir } from './fixtures.js';

const T0 = Date.UTC(2026, 11, 3, 2, 0, 0);

test('a key gets its cap of calls in 60 s, is told when the oldest leaves the window, and refused calls do not count', () => {
  const windows = new CallRateWindows();
  assert.deepEqual(windows.take('k', 3, T0), { within: true });
  assert.deepEqual(windows.take('k', 3, T0 + 500), { within: true });
  assert.deepEqual(windows.take('k', 3, T0 + 1_000), { within: true });
  // The two calls of second 0 leave the window at second 60.
  assert.deepEqual(windows.take('k', 3, T0 + 1_200), { within: false, retryAfterSeconds: 59 });
  for (let ms = 2_000; ms < 60_000; ms += 1_000) assert.equal(windows.take('k', 3, T0 + ms).within, false, `at ${ms} ms`);
  assert.deepEqual(windows.take('k', 3, T0 + 59_900), { within: false, retryAfterSeconds: 1 });
  // None of the 59 refusals counted: second 0's calls are gone and two calls fit again.
  assert.deepEqual(windows.take('k', 3, T0 + 60_000), { within: true });
  assert.deepEqual(windows.take('k', 3, T0 + 60_100), { within: true });
  // Now seconds 1 (one call) and 60 (two) are in the window: room again at second 61.
  assert.deepEqual(windows.take('k', 3, T0 + 60_200), { within: false, retryAfterSeconds: 1 });
});

test("one key's calls never use another key's room, and retain forgets removed keys", () => {
  const windows = new CallRateWindows();
  assert.equal(windows.take('a', 1, T0).within, true);
  assert.equal(windows.take('a', 1, T0).within, false);
  assert.equal(windows.take('b', 1, T0).within, true);
  windows.retain((keyId) => keyId !== 'a');
  assert.equal(windows.take('a', 1, T0).within, true, 'a re-created key starts with an empty window');
  assert.equal(windows.take('b', 1, T0).within, false);
});

test("Cedar's call-rate-limit denies any tool when the call is over the rate, with the text the gate uses", (t) => {
  const authz = new Authorizer({ engine: shippedEngine(), ledger: new LimitsLedger({ stateDir: tempDir(t) }) });
  const key = makeKey({ limits: { max_calls_per_minute: 5 } });
  const over = authz.authorizeCall({ ...caller(key, new Date(), true, false), action: 'futu_get_quote', target: { symbols: ['HK.00700'] } });
  assert.deepEqual([over.allowed, over.code, over.message], [false, 'LIMIT_EXCEEDED', 'limit check failed: call rate limit (more than 5 calls in 60s)']);
  assert.deepEqual(over.determiningPolicies.map((p) => p.id), ['call-rate-limit']);
  const ping = authz.authorizeCall({ ...caller(makeKey(), new Date(), true, false), action: 'futu_ping' });
  assert.equal(ping.message, 'limit check failed: call rate limit (more than 600 calls in 60s)', 'the default cap');
  assert.equal(authz.authorizeCall({ ...caller(key, new Date()), action: 'futu_get_quote', target: { symbols: ['HK.00700'] } }).allowed, true);
});

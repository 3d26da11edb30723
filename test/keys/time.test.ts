import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isExpired, parseRfc3339, resolveExpiry } from '../../src/keys/time.js';

const NOW = Date.parse('2026-11-20T12:00:00.000Z');

test('durations count from now, in days, hours or minutes', () => {
  assert.equal(resolveExpiry('90d', NOW), '2027-02-18T12:00:00.000Z');
  assert.equal(resolveExpiry('12h', NOW), '2026-11-21T00:00:00.000Z');
  assert.equal(resolveExpiry('30m', NOW), '2026-11-20T12:30:00.000Z');
});

test('an RFC 3339 expiry is kept as the same instant, in UTC', () => {
  assert.equal(resolveExpiry('2027-01-01T08:00:00+08:00', NOW), '2027-01-01T00:00:00.000Z');
  assert.equal(resolveExpiry('2027-01-01t00:00:00.250z', NOW), '2027-01-01T00:00:00.250Z');
});

test('expiry specs that make no sense are refused', () => {
  for (const spec of ['0d', '90', '90 d', '1w', '-5d', '2026-11-20T11:59:59Z', '2027-02-29T00:00:00Z', 'tomorrow', '']) {
    assert.throws(() => resolveExpiry(spec, NOW), Error, spec);
  }
  assert.throws(() => resolveExpiry('2026-01-01T00:00:00Z', NOW), /is in the past/);
});

test('RFC 3339 parsing checks the calendar and the clock', () => {
  assert.equal(parseRfc3339('2028-02-29T00:00:00Z'), Date.UTC(2028, 1, 29));
  for (const text of ['2026-02-29T00:00:00Z', '2026-04-31T00:00:00Z', '2026-13-01T00:00:00Z', '2026-01-01T24:00:00Z',
    '2026-01-01T00:60:00Z', '2026-01-01T00:00:00+24:00', '2026-01-01T00:00:00', '2026-01-01']) {
    assert.equal(parseRfc3339(text), undefined, text);
  }
});

test('a key is expired from its expiry instant on; null never expires', () => {
  const at = '2026-11-20T12:00:00.000Z';
  assert.equal(isExpired(at, NOW - 1), false);
  assert.equal(isExpired(at, NOW), true);
  assert.equal(isExpired(null, Number.MAX_SAFE_INTEGER), false);
  assert.equal(isExpired('garbage', 0), true);
});

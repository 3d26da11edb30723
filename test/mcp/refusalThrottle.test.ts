import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { RefusalThrottle, RefusalThrottles, type SuppressedRefusals } from '../../src/mcp/refusalThrottle.js';
import { waitFor } from '../helpers/mcpClients.js';

function throttle(recordsPerWindow: number, windowMs: number, clock: { now: number }) {
  const summaries: SuppressedRefusals[] = [];
  const t = new RefusalThrottle({ recordsPerWindow, windowMs, now: () => clock.now, onSuppressed: (s) => summaries.push(s) });
  return { t, summaries };
}

describe('RefusalThrottle', () => {
  it('admits the first N of a window, counts the rest by code, and reports them when the next window starts', () => {
    const clock = { now: 1_000 };
    const { t, summaries } = throttle(2, 1_000, clock);
    assert.deepEqual(['a', 'b', 'a', 'b', 'a'].map((code) => t.admit(code)), [true, true, false, false, false]);
    assert.equal(summaries.length, 0);
    clock.now = 2_000; // a new window: the old one's summary first, then admitting starts over
    assert.equal(t.admit('a'), true);
    assert.equal(summaries.length, 1);
    assert.deepEqual(summaries[0]!.codes, { a: 2, b: 1 });
    assert.equal(summaries[0]!.count, 3);
    assert.deepEqual([summaries[0]!.windowStart.getTime(), summaries[0]!.windowEnd.getTime()], [1_000, 2_000]);
    assert.equal(t.admit('a'), true);
    assert.equal(t.admit('a'), false);
    t.flush();
    assert.deepEqual(summaries.map((s) => s.count), [3, 1]);
    t.flush();
    assert.equal(summaries.length, 2, 'nothing suppressed, nothing reported');
  });

  it('reports a window\'s suppressed refusals when it ends, even if none follow', async () => {
    const { t, summaries } = throttle(0, 50, { get now() { return Date.now(); } });
    assert.equal(t.admit('missing_token'), false);
    assert.equal(t.admit('missing_token'), false);
    await waitFor('the window to end', () => summaries.length === 1);
    assert.deepEqual(summaries[0]!.codes, { missing_token: 2 });
  });

  it('refuses a window it cannot keep', () => {
    assert.throws(() => new RefusalThrottle({ recordsPerWindow: -1, windowMs: 1, onSuppressed: () => undefined }), RangeError);
    assert.throws(() => new RefusalThrottle({ recordsPerWindow: 1, windowMs: 0, onSuppressed: () => undefined }), RangeError);
  });
});

describe('RefusalThrottles', () => {
  it('gives each recognised key id, and the unrecognised together, an allowance of its own and a summary under its id', () => {
    const clock = { now: 1_000 };
    const summaries: [string | undefined, number][] = [];
    const t = new RefusalThrottles({ recordsPerWindow: 2, windowMs: 1_000, now: () => clock.now, onSuppressed: (s, keyId) => summaries.push([keyId, s.count]) });
    assert.deepEqual([1, 2, 3, 4].map(() => t.admit('leaked', 'KEY_REVOKED')), [true, true, false, false]);
    // Neither another key nor the keyless are starved by the leaked key's flood.
    assert.deepEqual([t.admit('other', 'KEY_EXPIRED'), t.admit(undefined, 'missing_token'), t.admit(undefined, 'KEY_INVALID')], [true, true, true]);
    assert.equal(t.admit(undefined, 'KEY_INVALID'), false);
    t.flush();
    assert.deepEqual(summaries, [[undefined, 1], ['leaked', 2]]);
  });
});

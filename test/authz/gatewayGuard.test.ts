import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AuthzError } from '../../src/authz/errors.js';
import { GatewayGuard, gatewayOperationFor, GUARD_LIMITS, OPEND_LIMITS } from '../../src/authz/gatewayGuard.js';

/** A guard on a hand-driven clock that never sleeps: any wait is an error carrying its length. */
function frozenGuard() {
  let now = 1_000_000;
  const guard = new GatewayGuard({ maxWaitMs: 0, clock: () => now });
  return { guard, advance: (ms: number) => (now += ms) };
}

function retryAfter(expected: number) {
  return (err: unknown) =>
    err instanceof AuthzError && err.code === 'GATEWAY_RATE_LIMITED' && err.details.retry_after_seconds === expected;
}

test('the guard is OpenD\'s limits plus a safety margin, never looser', () => {
  for (const [operation, opend] of Object.entries(OPEND_LIMITS)) {
    const guard = GUARD_LIMITS[operation as keyof typeof GUARD_LIMITS];
    assert.equal(guard.limit, opend.limit, operation);
    assert.ok(guard.windowMs > opend.windowMs, operation);
    assert.ok(opend.minGapMs === 0 ? guard.minGapMs === 0 : guard.minGapMs > opend.minGapMs, operation);
  }
});

test('PlaceOrder: 15 per 30 s per account and 20 ms apart; the 16th is told when to retry', async () => {
  const { guard, advance } = frozenGuard();
  const { limit, windowMs, minGapMs } = GUARD_LIMITS.place;
  await guard.acquire('place', '1001');
  await assert.rejects(guard.acquire('place', '1001'), retryAfter(1)); // the minimum gap
  advance(minGapMs - 1);
  await assert.rejects(guard.acquire('place', '1001'), retryAfter(1), 'one millisecond short of the gap');
  advance(1);
  await guard.acquire('place', '1001');
  for (let i = 2; i < limit; i++) {
    advance(minGapMs);
    await guard.acquire('place', '1001');
  }
  advance(1_000);
  // The first slot frees one window after the first order.
  const elapsed = (limit - 1) * minGapMs + 1_000;
  await assert.rejects(guard.acquire('place', '1001'), retryAfter(Math.ceil((windowMs - elapsed) / 1000)));
  await guard.acquire('place', '2002');
  advance(windowMs - elapsed);
  await guard.acquire('place', '1001');
});

test('ModifyOrder: modify and cancel share 20 per 30 s per account, 40 ms apart; orders are separate', async () => {
  const { guard, advance } = frozenGuard();
  assert.equal(gatewayOperationFor('futu_cancel_order'), 'modify');
  assert.equal(gatewayOperationFor('futu_modify_order'), 'modify');
  const { limit, windowMs, minGapMs } = GUARD_LIMITS.modify;
  for (let i = 0; i < limit; i++) {
    await guard.acquire(gatewayOperationFor(i % 2 ? 'futu_cancel_order' : 'futu_modify_order'), '1001');
    advance(minGapMs);
  }
  await assert.rejects(guard.acquire('modify', '1001'), retryAfter(Math.ceil((windowMs - limit * minGapMs) / 1000)));
  await guard.acquire('place', '1001');
});

test('UnlockTrade: 10 per 30 s for the whole OpenD user, whatever the account', async () => {
  const { guard, advance } = frozenGuard();
  const { limit, windowMs } = GUARD_LIMITS.unlock;
  for (let i = 0; i < limit; i++) {
    await guard.acquire('unlock', String(i));
    advance(1);
  }
  await assert.rejects(guard.acquire('unlock', 'other'), retryAfter(Math.ceil((windowMs - limit) / 1000)));
});

test('with the default wait budget, the minimum gap is waited out instead of failing', async () => {
  const guard = new GatewayGuard();
  for (let i = 0; i < 5; i++) await guard.acquire('modify', '1001');
});

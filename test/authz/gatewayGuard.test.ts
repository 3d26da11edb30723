import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AuthzError } from '../../src/authz/errors.js';
import { GatewayGuard, gatewayOperationFor, OPEND_LIMITS } from '../../src/authz/gatewayGuard.js';

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

test('PlaceOrder: 15 per 30 s per account and 20 ms apart; the 16th is told when to retry', async () => {
  const { guard, advance } = frozenGuard();
  await guard.acquire('place', '1001');
  await assert.rejects(guard.acquire('place', '1001'), retryAfter(1)); // 20 ms gap
  for (let i = 1; i < OPEND_LIMITS.place.limit; i++) {
    advance(20);
    await guard.acquire('place', '1001');
  }
  advance(1_000);
  // The first slot frees 30 s after the first order: 30,000 - 1,280 ms from now.
  await assert.rejects(guard.acquire('place', '1001'), retryAfter(29));
  await guard.acquire('place', '2002');
  advance(28_720);
  await guard.acquire('place', '1001');
});

test('ModifyOrder: modify and cancel share 20 per 30 s per account, 40 ms apart; orders are separate', async () => {
  const { guard, advance } = frozenGuard();
  assert.equal(gatewayOperationFor('futu_cancel_order'), 'modify');
  assert.equal(gatewayOperationFor('futu_modify_order'), 'modify');
  for (let i = 0; i < OPEND_LIMITS.modify.limit; i++) {
    await guard.acquire(gatewayOperationFor(i % 2 ? 'futu_cancel_order' : 'futu_modify_order'), '1001');
    advance(40);
  }
  await assert.rejects(guard.acquire('modify', '1001'), retryAfter(30));
  await guard.acquire('place', '1001');
});

test('UnlockTrade: 10 per 30 s for the whole OpenD user, whatever the account', async () => {
  const { guard, advance } = frozenGuard();
  for (let i = 0; i < OPEND_LIMITS.unlock.limit; i++) {
    await guard.acquire('unlock', String(i));
    advance(1);
  }
  await assert.rejects(guard.acquire('unlock', 'other'), retryAfter(30));
});

test('with the default wait budget, the minimum gap is waited out instead of failing', async () => {
  const guard = new GatewayGuard();
  for (let i = 0; i < 5; i++) await guard.acquire('modify', '1001');
});

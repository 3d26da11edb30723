import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AuthzError } from '../../src/authz/errors.js';
import { GatewayGuard, gatewayOperationFor, OPEND_LIMITS } from '../../src/authz/gatewayGuard.js';

function isRateLimited(err: unknown): boolean {
  if (!(err instanceof AuthzError) || err.code !== 'GATEWAY_RATE_LIMITED') return false;
  const retry = err.details.retry_after_seconds;
  return typeof retry === 'number' && retry >= 1 && retry <= 30;
}

test('PlaceOrder: 15 per 30 s per account (min gaps waited out), the 16th gets retry_after_seconds', async () => {
  const guard = new GatewayGuard();
  for (let i = 0; i < OPEND_LIMITS.place.limit; i++) await guard.acquire('place', '1001');
  await assert.rejects(guard.acquire('place', '1001'), isRateLimited);
  // Another account has its own budget.
  await guard.acquire('place', '2002');
});

test('ModifyOrder: modify and cancel share 20 per 30 s per account', async () => {
  const guard = new GatewayGuard();
  assert.equal(gatewayOperationFor('futu_cancel_order'), gatewayOperationFor('futu_modify_order'));
  for (let i = 0; i < 10; i++) await guard.acquire(gatewayOperationFor('futu_modify_order'), '1001');
  for (let i = 0; i < 10; i++) await guard.acquire(gatewayOperationFor('futu_cancel_order'), '1001');
  await assert.rejects(guard.acquire('modify', '1001'), isRateLimited);
  // Orders are a separate budget.
  await guard.acquire('place', '1001');
});

test('UnlockTrade: 10 per 30 s for the whole OpenD user, whatever the account', async () => {
  const guard = new GatewayGuard();
  for (let i = 0; i < 10; i++) await guard.acquire('unlock', String(i));
  await assert.rejects(guard.acquire('unlock', 'other'), isRateLimited);
});

test('a wait longer than maxWaitMs (e.g. the min gap when it is set to 0) fails instead of sleeping', async () => {
  const guard = new GatewayGuard({ maxWaitMs: 0 });
  await guard.acquire('place', '1001');
  await assert.rejects(guard.acquire('place', '1001'), (err: unknown) => err instanceof AuthzError && err.code === 'GATEWAY_RATE_LIMITED');
});

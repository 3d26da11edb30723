/**
 * HumanGate against the real file state store: what an out-of-band approval is bound to, and
 * that nothing but a human's answer in the shared state lets a call through. Time is the
 * store's clock (what Redis TIME is with Redis), set by each test, never the wall clock.
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { ConfirmationRoundRequired, expireDueConfirmations, HumanGate, type ConfirmationEvent, type GuardedCall, type HumanChannel, type ResumedRound, type RoundState } from '../../src/authz/confirmations.js';
import type { Decision } from '../../src/authz/decision.js';
import { FileTradeState } from '../../src/authz/fileTradeState.js';
import { NO_GUARDS } from '../../src/authz/builder.js';
import { tempDir } from '../helpers/futucli.js';
import { makeKey } from './fixtures.js';

const T0 = Date.parse('2026-12-03T02:00:00Z');
const TTL = 5 * 60_000;

/** A decision denied by one confirmation rule, as the engine returns it. */
const ASKING: Decision = {
  allowed: false,
  code: 'CONFIRMATION_REQUIRED',
  message: 'a human must confirm this order (require_confirmation: always)',
  action: 'futu_place_order',
  determiningPolicies: [{ id: 'confirm-every-order', effect: 'forbid', code: 'CONFIRMATION_REQUIRED', message: 'a human must confirm this order (require_confirmation: always)' }],
  policyVersion: 'test',
  context: {},
  errors: [],
};

function setup(t: TestContext) {
  const clock = { now: T0 };
  const store = new FileTradeState({ stateDir: tempDir(t), now: () => clock.now });
  const gate = new HumanGate(store, { approvalTtlMs: TTL });
  const key = makeKey({ id: 'careful', require_confirmation: 'always' });
  const events: ConfirmationEvent[] = [];
  const call = (over: Partial<GuardedCall> = {}): GuardedCall => ({
    key,
    tool: 'futu_place_order',
    env: 'simulate',
    accId: '1001',
    value: 3_000_000,
    summary: { tool: 'futu_place_order', keyId: key.id, env: 'simulate', accId: '1001', order: 'BUY 100 HK.00700 @ 300 HKD (LIMIT)', value: 'HKD 30,000.00', limitValue: null },
    ...over,
  });
  const channel = (over: Partial<HumanChannel> = {}): HumanChannel => ({ argsDigest: 'args-1', onEvent: async (e) => void events.push(e), ...over });
  /** Asks out of band and returns the id the refusal names. */
  const ask = async (over: Partial<GuardedCall> = {}): Promise<string> => {
    const refusal = await gate.confirm(call(over), ASKING, NO_GUARDS, channel()).then(
      () => assert.fail('an unapproved call went through'),
      (err: { code: string; details: { confirmation_id: string } }) => err,
    );
    assert.equal(refusal.code, 'CONFIRMATION_REQUIRED');
    return refusal.details.confirmation_id;
  };
  const approve = (id: string) => store.transitionConfirmation(id, 'pending', (c) => ({ ...c, state: 'approved', answeredAt: T0, answeredBy: 'cli' }));
  const use = (id: string, callOver: Partial<GuardedCall> = {}, channelOver: Partial<HumanChannel> = {}) =>
    gate.confirm(call(callOver), ASKING, NO_GUARDS, channel({ confirmationId: id, ...channelOver }));
  return { store, gate, key, events, call, ask, approve, use, clock };
}

async function refusedWith(work: Promise<unknown>, pattern: RegExp): Promise<void> {
  await assert.rejects(work, (err: { code: string; message: string }) => {
    assert.equal(err.code, 'CONFIRMATION_INVALID');
    assert.match(err.message, pattern);
    return true;
  });
}

test('an approved confirmation lets exactly its call through, once', async (t) => {
  const { ask, approve, use, events } = setup(t);
  const id = await ask();
  await refusedWith(use(id), /is not approved/);
  await approve(id);
  assert.deepEqual(await use(id), { ...NO_GUARDS, humanConfirmed: true });
  await refusedWith(use(id), /already used/);
  // The approval itself is audited when the human gives it (futucli's queue, the approval page), not again here.
  assert.deepEqual(events.map((e) => e.kind), ['requested', 'invalid', 'used', 'invalid']);
});

test('two calls racing to use one approval: exactly one goes through', async (t) => {
  const { ask, approve, use } = setup(t);
  const id = await ask();
  await approve(id);
  const results = await Promise.allSettled(Array.from({ length: 8 }, () => use(id)));
  assert.equal(results.filter((r) => r.status === 'fulfilled').length, 1);
});

test('an approval is bound to the call: other arguments, account, env, a higher value, another key or a changed key are refused', async (t) => {
  const { ask, approve, use, key } = setup(t);
  const id = await ask();
  await approve(id);
  await refusedWith(use(id, {}, { argsDigest: 'args-2' }), /another call/);
  await refusedWith(use(id, { accId: '1002' }), /another call/);
  await refusedWith(use(id, { env: 'real' }), /another call/);
  await refusedWith(use(id, { value: 3_000_001 }), /smaller value/);
  await refusedWith(use(id, { key: makeKey({ id: 'other', require_confirmation: 'always' }) }), /belongs to another key/);
  await refusedWith(use(id, { key: { ...key, limits: { ...key.limits, max_daily_value: 1 } } }), /before the key changed/);
  // None of the refusals used it up: the call itself still goes through, for no more than approved.
  assert.equal((await use(id, { value: 2_000_000 })).humanConfirmed, true);
});

test('an approval expires with its confirmation; a rejection or an unknown id refuses', async (t) => {
  const { ask, approve, use, store, events, clock } = setup(t);
  const late = await ask();
  await approve(late);
  clock.now = T0 + TTL;
  await refusedWith(use(late), /expired at 2026-12-03T02:05:00.000Z/);
  assert.equal((await store.getConfirmation(late))?.state, 'expired', 'the call that found it expired marks it so');
  clock.now = T0 + TTL + 1;
  await refusedWith(use(late), /expired at 2026-12-03T02:05:00.000Z/);
  assert.deepEqual(events.filter((e) => e.kind === 'expired').map((e) => e.confirmationId), [late], 'the expiry is audited once');
  const rejected = await ask();
  await store.transitionConfirmation(rejected, 'pending', (c) => ({ ...c, state: 'rejected', answeredAt: T0, answeredBy: 'page' }));
  await refusedWith(use(rejected), /rejected by a human/);
  await refusedWith(use('0'.repeat(32)), /is unknown/);
  await refusedWith(use('not-an-id'), /is not one: a confirmation_id is the 32 hex digits/);
});

test('elicitation: only an accept confirms; decline, cancel, timeout and a failing client refuse', async (t) => {
  const { gate } = setup(t);
  const key = makeKey({ require_confirmation: 'always' });
  const call: GuardedCall = {
    key,
    tool: 'futu_place_order',
    env: 'simulate',
    accId: '1001',
    value: 1,
    summary: { tool: 'futu_place_order', keyId: key.id, env: 'simulate', accId: '1001', order: 'x', value: null, limitValue: null },
  };
  const answered = (answer: () => Promise<'accept' | 'decline' | 'cancel' | 'timeout'>) => gate.confirm(call, ASKING, NO_GUARDS, { argsDigest: 'a', ask: answer });
  assert.equal((await answered(async () => 'accept')).humanConfirmed, true);
  for (const [answer, code] of [['decline', 'CONFIRMATION_DECLINED'], ['cancel', 'CONFIRMATION_DECLINED'], ['timeout', 'CONFIRMATION_TIMEOUT']] as const) {
    await assert.rejects(answered(async () => answer), { code });
  }
  await assert.rejects(answered(async () => Promise.reject(new Error('session closed'))), { code: 'CONFIRMATION_DECLINED' });
});

test('a decision that is not only a confirmation never asks anyone', async (t) => {
  const { gate } = setup(t);
  const key = makeKey();
  const limit: Decision = { ...ASKING, code: 'LIMIT_EXCEEDED', determiningPolicies: [...ASKING.determiningPolicies, { id: 'daily-limit', effect: 'forbid', code: 'LIMIT_EXCEEDED', message: 'm' }] };
  let asked = 0;
  const guards = await gate.confirm(
    { key, tool: 'futu_place_order', env: 'simulate', accId: '1', value: 1, summary: { tool: 'futu_place_order', keyId: key.id, env: 'simulate', accId: '1', order: 'x', value: null, limitValue: null } },
    limit,
    NO_GUARDS,
    { argsDigest: 'a', ask: async () => (asked++, 'accept') },
  );
  assert.deepEqual([guards.humanConfirmed, asked], [false, 0]);
});

/** 2026-07-28 rounds: the first round's state, and the confirmation it names. */
async function firstRound(gate: HumanGate, call: GuardedCall, channel: HumanChannel): Promise<RoundState> {
  const ended = await gate.confirm(call, ASKING, NO_GUARDS, channel).then(
    () => assert.fail('a call went through before the human answered'),
    (err: unknown) => err,
  );
  assert.ok(ended instanceof ConfirmationRoundRequired, String(ended));
  assert.equal(ended.code, 'CONFIRMATION_REQUIRED');
  assert.match(ended.form, /^Key careful wants to: BUY 100 HK\.00700 @ 300 HKD \(LIMIT\) in simulate account 1001\nValue: HKD 30,000\.00\nAsked by policy: /);
  return ended.state;
}

test('rounds (2026-07-28): the first round stores a pending confirmation and hands back its state; a yes in the retry uses it up once', async (t) => {
  const { gate, store, events, call } = setup(t);
  const rounds = (resumed?: ResumedRound) => ({ argsDigest: 'args-1', rounds: { timeoutMs: 120_000, ...(resumed && { resumed }) }, onEvent: async (e: ConfirmationEvent) => void events.push(e) });
  const state = await firstRound(gate, call(), rounds());
  assert.deepEqual({ ...state, confirmationId: '' }, { confirmationId: '', keyId: 'careful', argsDigest: 'args-1', expiresAt: T0 + 120_000 });
  assert.equal((await store.getConfirmation(state.confirmationId))?.state, 'pending');

  assert.deepEqual(await gate.confirm(call(), ASKING, NO_GUARDS, rounds({ state, answer: 'accept' })), { ...NO_GUARDS, humanConfirmed: true });
  assert.equal((await store.getConfirmation(state.confirmationId))?.state, 'used');
  // The same state again (a replay) finds its confirmation used.
  await refusedWith(gate.confirm(call(), ASKING, NO_GUARDS, rounds({ state, answer: 'accept' })), /already used/);
  assert.deepEqual(
    events.map((e) => `${e.kind}/${e.channel}`),
    ['requested/elicitation', 'accepted/elicitation', 'used/elicitation', 'invalid/elicitation'],
  );
  assert.ok(events.every((e) => e.confirmationId === state.confirmationId));
});

test('rounds: a state for another key, other arguments, past its expiry, unreadable, or answered no refuses; only the no uses the confirmation up', async (t) => {
  const { gate, store, call, clock } = setup(t);
  const rounds = (resumed?: ResumedRound, argsDigest = 'args-1') => ({ argsDigest, rounds: { timeoutMs: 60_000, ...(resumed && { resumed }) } });
  const confirm = (resumed: ResumedRound, over: Partial<GuardedCall> = {}, argsDigest?: string) => gate.confirm(call(over), ASKING, NO_GUARDS, rounds(resumed, argsDigest));
  const state = await firstRound(gate, call(), rounds());

  await refusedWith(confirm({ state, answer: 'accept' }, { key: makeKey({ id: 'other', require_confirmation: 'always' }) }), /belongs to another key/);
  await refusedWith(confirm({ state, answer: 'accept' }, {}, 'args-2'), /was asked for another call/);
  await refusedWith(confirm({ state: { ...state, keyId: 'other' }, answer: 'accept' }, { key: makeKey({ id: 'other', require_confirmation: 'always' }) }), /belongs to another key/);
  await refusedWith(confirm({ state, answer: 'accept' }, { value: 3_000_001 }), /smaller value/);
  await refusedWith(confirm({ state: { ...state, confirmationId: '0'.repeat(32) }, answer: 'accept' }), /unknown confirmation/);
  await refusedWith(confirm({ unreadable: 'invalid' }), /not one this server issued, or was altered/);
  await assert.rejects(confirm({ unreadable: 'expired' }), { code: 'CONFIRMATION_TIMEOUT' });
  clock.now = T0 + 60_000;
  await assert.rejects(confirm({ state, answer: 'accept' }), { code: 'CONFIRMATION_TIMEOUT' });
  clock.now = T0;
  assert.equal((await store.getConfirmation(state.confirmationId))?.state, 'pending', 'no refusal so far used it up');

  await assert.rejects(confirm({ state, answer: 'decline' }), { code: 'CONFIRMATION_DECLINED' });
  assert.equal((await store.getConfirmation(state.confirmationId))?.state, 'rejected');
  await refusedWith(confirm({ state, answer: 'accept' }), /already answered \(rejected\)/);

  const cancelled = await firstRound(gate, call(), rounds());
  await assert.rejects(confirm({ state: cancelled, answer: 'cancel' }), { code: 'CONFIRMATION_DECLINED' });
});

test('rounds: two retries racing with one yes, exactly one goes through', async (t) => {
  const { gate, call } = setup(t);
  const state = await firstRound(gate, call(), { argsDigest: 'args-1', rounds: { timeoutMs: 60_000 } });
  const results = await Promise.allSettled(Array.from({ length: 8 }, () => gate.confirm(call(), ASKING, NO_GUARDS, { argsDigest: 'args-1', rounds: { timeoutMs: 60_000, resumed: { state, answer: 'accept' } } })));
  assert.equal(results.filter((r) => r.status === 'fulfilled').length, 1);
});

test('expireDueConfirmations moves what ran out to expired and reports each once; a second sweep finds nothing', async (t) => {
  const { ask, approve, store, clock } = setup(t);
  // Asked at T0; then the store's clock says T0 + TTL: both the approved and the unanswered one ran out.
  const approved = await ask();
  await approve(approved);
  const pending = await ask();
  const rejected = await ask();
  await store.transitionConfirmation(rejected, 'pending', (c) => ({ ...c, state: 'rejected' }));
  const swept: string[] = [];
  assert.equal(await expireDueConfirmations(store, async () => assert.fail('nothing has run out yet')), 0);
  clock.now = T0 + TTL;
  assert.equal(await expireDueConfirmations(store, async (c) => void swept.push(`${c.id}:${c.state}:${c.askedVia}`)), 2);
  assert.deepEqual(swept.sort(), [`${approved}:expired:out_of_band`, `${pending}:expired:out_of_band`].sort());
  assert.equal(await expireDueConfirmations(store, async () => assert.fail('expired twice')), 0);
  assert.equal((await store.getConfirmation(rejected))?.state, 'rejected');
});

test('every refusal of the human loop carries the decision that asked (its confirmation rules and version), as a Cedar denial does', async (t) => {
  const { gate, call, ask, approve } = setup(t);
  const carries = (err: unknown) => {
    const { details } = err as { details: Record<string, unknown> };
    assert.deepEqual([details.policies, details.policy_version, details.decision], [['confirm-every-order'], 'test', ASKING]);
    return true;
  };
  // Out of band: the refusal that names the confirmation_id, and an unapproved or unknown id.
  const id = await ask();
  await assert.rejects(gate.confirm(call(), ASKING, NO_GUARDS, { argsDigest: 'args-1' }), (err: { code: string; details: { confirmation_id?: string } }) => {
    assert.equal(err.code, 'CONFIRMATION_REQUIRED');
    assert.match(err.details.confirmation_id ?? '', /^[0-9a-f]{32}$/);
    return carries(err);
  });
  await assert.rejects(gate.confirm(call(), ASKING, NO_GUARDS, { argsDigest: 'args-1', confirmationId: id }), (err: { code: string }) => err.code === 'CONFIRMATION_INVALID' && carries(err));
  // Elicitation: declined, timed out.
  for (const [answer, code] of [['decline', 'CONFIRMATION_DECLINED'], ['timeout', 'CONFIRMATION_TIMEOUT']] as const) {
    await assert.rejects(gate.confirm(call(), ASKING, NO_GUARDS, { argsDigest: 'args-1', ask: async () => answer }), (err: { code: string }) => err.code === code && carries(err));
  }
  // 2026-07-28 rounds: the first round ends the request as a CONFIRMATION_REQUIRED refusal.
  await assert.rejects(gate.confirm(call(), ASKING, NO_GUARDS, { argsDigest: 'args-1', rounds: { timeoutMs: 60_000 } }), (err: unknown) => err instanceof ConfirmationRoundRequired && carries(err));
  // An approved call goes on to be decided again: nothing to carry.
  await approve(id);
  assert.deepEqual(await gate.confirm(call(), ASKING, NO_GUARDS, { argsDigest: 'args-1', confirmationId: id }), { ...NO_GUARDS, humanConfirmed: true });
});

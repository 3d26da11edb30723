/**
 * The seal of 2026-07-28 confirmation rounds: a state opens only unaltered, unexpired and sealed
 * with this server's key, anything else is unreadable (fail closed); the human's answer is read
 * from the retry's input responses; the key is shared through the state dir or the environment.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { createRequestStateCodec } from '@modelcontextprotocol/server';
import { ConfirmationRoundSeal, REQUEST_STATE_SECRET_ENV, requestStateKey } from '../../src/mcp/confirmationRounds.js';
import type { RoundState } from '../../src/authz/confirmations.js';
import { tempDir } from '../helpers/futucli.js';

const KEY = randomBytes(32);
const STATE: RoundState = { confirmationId: 'ab'.repeat(16), keyId: 'careful', argsDigest: 'f'.repeat(64), expiresAt: 1_800_000_000_000 };
const accepted = { confirm: { action: 'accept', content: { confirm: true } } };

test('a sealed state opens with the human\'s answer: only accept with confirm = true is a yes', async () => {
  const seal = new ConfirmationRoundSeal(KEY, 120_000);
  const sealed = await seal.seal(STATE);
  assert.deepEqual(await seal.open(sealed, accepted), { state: STATE, answer: 'accept' });
  const answers: Array<[Record<string, unknown> | undefined, string]> = [
    [{ confirm: { action: 'accept', content: { confirm: false } } }, 'decline'],
    [{ confirm: { action: 'accept', content: { confirm: 'true' } } }, 'decline'],
    [{ confirm: { action: 'decline' } }, 'decline'],
    [{ confirm: { action: 'cancel' } }, 'cancel'],
    [{ other: { action: 'accept', content: { confirm: true } } }, 'cancel'],
    [undefined, 'cancel'],
  ];
  for (const [responses, answer] of answers) assert.deepEqual(await seal.open(sealed, responses), { state: STATE, answer }, JSON.stringify(responses));
});

test('an altered, foreign, malformed or expired state is unreadable', async () => {
  const seal = new ConfirmationRoundSeal(KEY, 120_000);
  const sealed = await seal.seal(STATE);
  const [prefix, body, mac] = sealed.split('.') as [string, string, string];
  const payload = JSON.parse(Buffer.from(body, 'base64url').toString('utf8')) as { p: Record<string, unknown>; exp: number };
  // The payload is readable (signed, not encrypted); changing any of it breaks the MAC.
  assert.deepEqual(payload.p, { c: STATE.confirmationId, k: 'careful', d: STATE.argsDigest, e: STATE.expiresAt });
  const reencode = (p: unknown) => Buffer.from(JSON.stringify(p)).toString('base64url');
  const tampered = [
    `${prefix}.${reencode({ ...payload, p: { ...payload.p, k: 'other' } })}.${mac}`,
    `${prefix}.${reencode({ ...payload, exp: payload.exp + 3600 })}.${mac}`,
    `${prefix}.${body}.${Buffer.from(randomBytes(32)).toString('base64url')}`,
    `${prefix}.${body}`,
    sealed.slice(0, -2),
    `v2.${body}.${mac}`,
    await new ConfirmationRoundSeal(randomBytes(32), 120_000).seal(STATE),
    '',
  ];
  for (const state of tampered) assert.deepEqual(await seal.open(state, accepted), { unreadable: 'invalid' }, state);
  for (const raw of [undefined, 42, { c: STATE.confirmationId }]) assert.deepEqual(await seal.open(raw, accepted), { unreadable: 'invalid' });
  // Sealed with this key but not a round's state: refused too.
  const sameKey = createRequestStateCodec({ key: KEY, ttlSeconds: 60 });
  assert.deepEqual(await seal.open(await sameKey.mint({ c: STATE.confirmationId, k: 'careful' }), accepted), { unreadable: 'invalid' });
  const expired = createRequestStateCodec({ key: KEY, ttlSeconds: -10 });
  assert.deepEqual(await seal.open(await expired.mint({ c: STATE.confirmationId, k: 'careful', d: STATE.argsDigest, e: STATE.expiresAt }), accepted), { unreadable: 'expired' });
});

test('the sealing key: made once in the state dir (0600) and shared by every server there; the environment overrides it', async (t) => {
  const dir = join(tempDir(t), 'state');
  const [a, b] = await Promise.all([requestStateKey(dir, {}), requestStateKey(dir, {})]);
  assert.equal(a.length, 32);
  assert.deepEqual(a, b, 'two servers starting at once agree on one key');
  assert.deepEqual(await requestStateKey(dir, {}), a);
  assert.equal(statSync(join(dir, 'request-state.key')).mode & 0o777, 0o600);
  assert.equal(statSync(dir).mode & 0o777, 0o700);
  // A state sealed by one server opens on another sharing the dir.
  const state = await new ConfirmationRoundSeal(a, 60_000).seal(STATE);
  assert.deepEqual(await new ConfirmationRoundSeal(b, 60_000).open(state, accepted), { state: STATE, answer: 'accept' });

  const secret = 'x'.repeat(40);
  assert.deepEqual(await requestStateKey(dir, { [REQUEST_STATE_SECRET_ENV]: secret }), Buffer.from(secret));
  await assert.rejects(requestStateKey(dir, { [REQUEST_STATE_SECRET_ENV]: 'short' }), /at least 32 bytes/);
});

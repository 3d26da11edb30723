import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeLedgerFile, encodeRecord } from '../../src/authz/ledgerFile.js';
import { emptyState, type LedgerState } from '../../src/authz/ledgerState.js';
import { MORNING } from './fixtures.js';

const KEY = 'k-ünïcode';

function stateWith(committed: number): LedgerState {
  return { ...emptyState(KEY, MORNING), currency: 'HKD', committed };
}

const file = (...parts: (Buffer | string)[]) => Buffer.concat(parts.map((p) => (typeof p === 'string' ? Buffer.from(p) : p)));

test('the last whole record is the state; `end` is where the next one goes, in bytes', () => {
  const first = encodeRecord(stateWith(100));
  const second = encodeRecord(stateWith(250));
  const stored = decodeLedgerFile(file(first, second), KEY);
  assert.equal(stored.state.committed, 250);
  assert.equal(stored.end, first.length + second.length);
  assert.equal(stored.legacy, false);
  assert.ok(second.length > JSON.stringify(stateWith(250)).length, 'a record carries a checksum');
});

test('a record cut off by a crash is ignored, and the next write goes where it began', () => {
  const first = encodeRecord(stateWith(100));
  const cut = encodeRecord(stateWith(999)).subarray(0, 40);
  const stored = decodeLedgerFile(file(first, cut), KEY);
  assert.equal(stored.state.committed, 100);
  assert.equal(stored.end, first.length);
});

test('a whole last record whose checksum fails (its sectors reached the disk out of order) is ignored', () => {
  const first = encodeRecord(stateWith(100));
  const torn = Buffer.from(encodeRecord(stateWith(999)));
  torn.fill(0, 10, 30);
  const stored = decodeLedgerFile(file(first, torn), KEY);
  assert.equal(stored.state.committed, 100);
  assert.equal(stored.end, first.length);
  // Changed digits that still parse as JSON: the checksum catches them too.
  const altered = Buffer.from(encodeRecord(stateWith(999)).toString().replace('999', '111'));
  assert.equal(decodeLedgerFile(file(first, altered), KEY).state.committed, 100);
});

test('damage beyond the last write fails closed: a bad record followed by more, or no good record at all', () => {
  const good = encodeRecord(stateWith(100));
  const bad = Buffer.from(encodeRecord(stateWith(999)).toString().replace('999', '111'));
  assert.throws(() => decodeLedgerFile(file(good, bad, 'partial'), KEY), /malformed/);
  assert.throws(() => decodeLedgerFile(bad, KEY), /malformed/);
  assert.throws(() => decodeLedgerFile(file(good, bad, bad), KEY), /malformed/);
  assert.throws(() => decodeLedgerFile(Buffer.alloc(0), KEY));
  assert.throws(() => decodeLedgerFile(Buffer.from('\n'), KEY), /malformed/);
});

test('a record that checks out but does not hold a valid state (or another key\'s) fails closed', () => {
  const wrongKey = encodeRecord({ ...stateWith(1), keyId: 'someone else' });
  assert.throws(() => decodeLedgerFile(wrongKey, KEY), /malformed/);
  const negative = encodeRecord({ ...stateWith(1), committed: -5 });
  assert.throws(() => decodeLedgerFile(file(encodeRecord(stateWith(1)), negative), KEY), /malformed/);
});

test('the single-JSON file of earlier versions is read, and marked for replacement', () => {
  const legacy = JSON.stringify(stateWith(700));
  const stored = decodeLedgerFile(Buffer.from(legacy), KEY);
  assert.deepEqual([stored.state.committed, stored.legacy], [700, true]);
  assert.throws(() => decodeLedgerFile(Buffer.from(legacy.slice(0, -3)), KEY));
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { readKeysFile, writeKeysFile } from '../../src/keys/file.js';
import { SCOPES } from '../../src/keys/types.js';
import { tempDir, writeFileWithMode } from '../helpers/futucli.js';

const HASH_A = 'c4d5'.repeat(16);
const HASH_B = '0a1b'.repeat(16);
const FP = 'ab'.repeat(32);

/** The documented reference form (futuapi.com keys-json guide), limits nested. */
function referenceNested(): Record<string, unknown> {
  return {
    version: 1,
    keys: [
      {
        id: 'sim-bot',
        hash: HASH_A,
        scopes: ['qot:read', 'acc:read', 'trade:simulate'],
        limits: {
          allowed_markets: ['HK'],
          allowed_symbols: ['HK.00700', 'HK.09988'],
          allowed_trd_sides: ['SELL'],
          max_order_value: 100000,
          max_daily_value: 500000,
          max_orders_per_minute: 3,
          hours_window: '09:30-16:00',
        },
        allowed_machines: [`fp_${FP}`],
        created_at: '2026-04-15T10:00:00Z',
        expires_at: '2026-05-15T10:00:00Z',
        note: 'simulate 卖出止盈 bot',
      },
    ],
  };
}

/** The variant seen in the wild: `sha256:` hashes and limit fields flat on the record. */
function referenceFlat(): Record<string, unknown> {
  return {
    version: 1,
    keys: [
      {
        id: 'bot_a',
        hash: `sha256:${HASH_B.toUpperCase()}`,
        scopes: ['qot:read', 'trade:real'],
        allowed_markets: ['US', 'CN'],
        allowed_acc_ids: [281756455982434, '18446744073709551615', '007'],
        max_order_value: 50000,
        limit_currency: 'USD',
        allowed_machines: [FP.toUpperCase()],
        expires_at: null,
      },
    ],
  };
}

function load(t: import('node:test').TestContext, content: unknown, mode = 0o600) {
  return readKeysFile(writeFileWithMode(join(tempDir(t), 'keys.json'), content, mode));
}

test('the documented nested reference file loads unchanged and normalises', (t) => {
  assert.deepEqual(load(t, referenceNested()), [
    {
      id: 'sim-bot',
      hash: HASH_A,
      scopes: ['qot:read', 'acc:read', 'trade:simulate'],
      limits: {
        allowed_markets: ['HK'],
        allowed_symbols: ['HK.00700', 'HK.09988'],
        allowed_trd_sides: ['SELL'],
        allowed_acc_ids: null,
        max_order_value: 100000,
        max_daily_value: 500000,
        max_orders_per_minute: 3,
        hours_window: '09:30-16:00',
        limit_currency: 'HKD',
        manage_any_order: false,
        max_cancels_per_minute: null,
        max_calls_per_minute: null,
      },
      allowed_machines: [`fp_${FP}`],
      created_at: '2026-04-15T10:00:00.000Z',
      expires_at: '2026-05-15T10:00:00.000Z',
      note: 'simulate 卖出止盈 bot',
      require_confirmation: null,
      confirmation_channel: null,
    },
  ]);
});

test('the flat variant with sha256: hashes, numeric account ids and market aliases loads', (t) => {
  const [record] = load(t, referenceFlat());
  assert.ok(record);
  assert.equal(record.hash, HASH_B);
  assert.deepEqual(record.limits.allowed_markets, ['US', 'SH', 'SZ']);
  assert.deepEqual(record.limits.allowed_acc_ids, ['281756455982434', '18446744073709551615', '7']);
  assert.equal(record.limits.max_order_value, 50000);
  assert.equal(record.limits.limit_currency, 'USD');
  assert.equal(record.limits.allowed_symbols, null);
  assert.deepEqual(record.allowed_machines, [`fp_${FP}`]);
  assert.equal(record.created_at, null);
  assert.equal(record.expires_at, null);
});

test('loaded records are frozen, so no caller can widen a key in memory', (t) => {
  const [record] = load(t, referenceNested());
  assert.ok(record);
  assert.throws(() => (record.scopes as string[]).push('trade:real'), TypeError);
  assert.throws(() => {
    (record.limits as { max_order_value: number | null }).max_order_value = null;
  }, TypeError);
});

type Edit = (doc: any) => void;
const key = (doc: any) => doc.keys[0];
const limits = (doc: any) => doc.keys[0].limits;

const malformed: [string, Edit, string][] = [
  ['a negative order cap', (d) => (limits(d).max_order_value = -1), 'keys.json: key "sim-bot": limits.max_order_value: expected a positive number'],
  ['a string order cap', (d) => (limits(d).max_order_value = '50k'), 'keys.json: key "sim-bot": limits.max_order_value: expected a positive number'],
  ['a fractional rate', (d) => (limits(d).max_orders_per_minute = 1.5), 'keys.json: key "sim-bot": limits.max_orders_per_minute: expected a positive integer'],
  [
    'an unknown scope',
    (d) => (key(d).scopes = ['qot:read', 'admin']),
    `keys.json: key "sim-bot": scopes[1]: unknown scope "admin" (known: ${SCOPES.join(', ')})`,
  ],
  ['no scopes', (d) => (key(d).scopes = []), 'keys.json: key "sim-bot": scopes: expected at least one scope'],
  ['a bad hours window', (d) => (limits(d).hours_window = '9:30-16:00'), 'keys.json: key "sim-bot": limits.hours_window: expected "HH:MM-HH:MM"'],
  ['an empty hours window', (d) => (limits(d).hours_window = '10:00-10:00'), 'keys.json: key "sim-bot": limits.hours_window: expected "HH:MM-HH:MM"'],
  ['a short hash', (d) => (key(d).hash = 'abc123'), 'keys.json: key "sim-bot": hash: expected 64 hex digits of SHA-256'],
  [
    'an account id that lost precision',
    (d) => (limits(d).allowed_acc_ids = [2 ** 53 + 2]),
    'keys.json: key "sim-bot": limits.allowed_acc_ids[0]: account id is above 2^53 and lost precision as a JSON number: write it as a decimal string',
  ],
  ['an account id above 64 bits', (d) => (limits(d).allowed_acc_ids = ['18446744073709551616']), 'keys.json: key "sim-bot": limits.allowed_acc_ids[0]: account id does not fit in 64 bits'],
  ['an account id with a sign', (d) => (limits(d).allowed_acc_ids = ['-5']), 'keys.json: key "sim-bot": limits.allowed_acc_ids[0]: expected an account id as a decimal string'],
  ['an unknown market', (d) => (limits(d).allowed_markets = ['HK', 'JP']), 'keys.json: key "sim-bot": limits.allowed_markets[1]: unknown market "JP"'],
  ['a lowercase side', (d) => (limits(d).allowed_trd_sides = ['sell']), 'keys.json: key "sim-bot": limits.allowed_trd_sides[0]: unknown side "sell"'],
  ['a symbol without market', (d) => (limits(d).allowed_symbols = ['00700']), 'keys.json: key "sim-bot": limits.allowed_symbols[0]: invalid symbol "00700"'],
  ['an impossible date', (d) => (key(d).expires_at = '2026-02-30T10:00:00Z'), 'keys.json: key "sim-bot": expires_at: expected an RFC 3339 date-time'],
  ['a date without zone', (d) => (key(d).expires_at = '2026-05-15 10:00'), 'keys.json: key "sim-bot": expires_at: expected an RFC 3339 date-time'],
  ['a bad fingerprint', (d) => (key(d).allowed_machines = ['fp_bot_host_abc123']), 'keys.json: key "sim-bot": allowed_machines[0]: expected a machine fingerprint'],
  ['a misspelt limit', (d) => (limits(d).max_order_valu = 5), 'keys.json: key "sim-bot": limits: unknown field "max_order_valu"'],
  ['an unsupported limit', (d) => (key(d).allowed_card_nums = ['1']), 'keys.json: key "sim-bot": unknown field "allowed_card_nums"'],
  ['a revoked flag', (d) => (key(d).revoked = true), 'keys.json: key "sim-bot": "revoked" is not supported: revoke a key by deleting its record'],
  ['a missing id', (d) => delete key(d).id, 'keys.json: keys[0]: id: required'],
  ['an id with spaces', (d) => (key(d).id = 'my bot'), 'keys.json: keys[0]: id: expected 1-64 letters'],
  ['a wrong version', (d) => (d.version = 2), 'keys.json: version: expected 1'],
  ['keys not a list', (d) => (d.keys = {}), 'keys.json: keys: expected a list'],
  ['a record that is not an object', (d) => (d.keys = ['fc_x']), 'keys.json: keys[0]: expected an object'],
  ['a control character in the note', (d) => (key(d).note = 'bot\u001b[31m'), 'keys.json: key "sim-bot": note: control characters are not allowed'],
  ['a duplicate id', (d) => d.keys.push({ ...key(d), hash: HASH_B }), 'keys.json: duplicate key id "sim-bot"'],
  ['two ids for one secret', (d) => d.keys.push({ ...key(d), id: 'twin' }), 'keys.json: keys "sim-bot" and "twin" have the same hash'],
  ['flat and nested limits mixed', (d) => (key(d).max_daily_value = 1), 'keys.json: key "sim-bot": unknown field "max_daily_value"'],
];

for (const [what, edit, message] of malformed) {
  test(`a file with ${what} is refused with a message naming it`, (t) => {
    const doc = referenceNested();
    edit(doc);
    assert.throws(
      () => load(t, doc),
      (err: any) => {
        assert.equal(err.code, 'KEYS_FILE_INVALID');
        assert.ok(err.message.startsWith(message), `message was: ${err.message}`);
        return true;
      },
    );
  });
}

test('invalid JSON is reported by line and column without quoting the file', (t) => {
  const text = '{\n  "version": 1,\n  "keys": [ { "id": "a", "hash": "SECRETISH" oops } ]\n}\n';
  assert.throws(
    () => load(t, text),
    (err: any) => {
      assert.equal(err.code, 'KEYS_FILE_INVALID');
      assert.match(err.message, /^keys\.json: not valid JSON \(line 3, column \d+\)$/);
      return true;
    },
  );
});

test('a missing file is its own error', (t) => {
  const file = join(tempDir(t), 'absent.json');
  assert.throws(() => readKeysFile(file), { code: 'KEYS_FILE_NOT_FOUND', message: `keys file not found: ${file}` });
});

for (const mode of [0o644, 0o640, 0o604, 0o620, 0o602, 0o660]) {
  test(`a keys file with mode ${mode.toString(8)} is refused (fail closed)`, (t) => {
    const file = writeFileWithMode(join(tempDir(t), 'keys.json'), referenceNested(), mode);
    assert.throws(
      () => readKeysFile(file),
      (err: any) => {
        assert.equal(err.code, 'KEYS_FILE_PERMISSIONS');
        assert.equal(err.message, `keys file ${file} is accessible by group or others (mode 0${mode.toString(8)}); run: chmod 600 ${file}`);
        return true;
      },
    );
  });
}

test('an owner-only read-only file is accepted', (t) => {
  assert.equal(load(t, referenceNested(), 0o400).length, 1);
});

test('writing creates 0700 parents and a 0600 file whatever the umask, atomically, and round-trips', (t) => {
  const dir = tempDir(t);
  const source = readKeysFile(writeFileWithMode(join(dir, 'source.json'), referenceFlat()));
  const file = join(dir, 'new', 'futu', 'keys.json');
  const previousUmask = process.umask(0);
  try {
    writeKeysFile(file, source);
  } finally {
    process.umask(previousUmask);
  }
  assert.equal(statSync(file).mode & 0o777, 0o600);
  assert.equal(statSync(join(dir, 'new', 'futu')).mode & 0o777, 0o700);
  assert.deepEqual(readdirSync(join(dir, 'new', 'futu')), ['keys.json']);
  assert.deepEqual(readKeysFile(file), source);
  // Written in the canonical nested form with bare hex hashes.
  const written = JSON.parse(readFileSync(file, 'utf8'));
  assert.equal(written.keys[0].hash, HASH_B);
  assert.equal(written.keys[0].limits.max_order_value, 50000);
  assert.equal(written.keys[0].max_order_value, undefined);
});

test('rewriting an existing file replaces it and tightens its mode', (t) => {
  const file = writeFileWithMode(join(tempDir(t), 'keys.json'), referenceNested(), 0o400);
  writeKeysFile(file, []);
  assert.deepEqual(readKeysFile(file), []);
  assert.equal(statSync(file).mode & 0o777, 0o600);
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { MARKET_CODES } from '../../src/gateway/symbol.js';
import { readKeysFile, writeKeysFile } from '../../src/keys/file.js';
import { LIMIT_CURRENCIES, SCOPES, TRD_SIDES } from '../../src/keys/types.js';
import { tempDir, writeFileWithMode } from '../helpers/futucli.js';

/**
 * schemas/keys.schema.json is what operators and their tooling see; these tests keep it and the
 * file futucli actually writes from drifting apart.
 */
const schema = JSON.parse(readFileSync(new URL('../../../schemas/keys.schema.json', import.meta.url), 'utf8'));

type Json = any;

/** The subset of JSON Schema 2020-12 the keys schema uses; returns the violations. */
function violations(value: Json, rule: Json, path = '$'): string[] {
  const out: string[] = [];
  if (rule.$ref) out.push(...violations(value, resolveRef(rule.$ref), path));
  const types: string[] | undefined = rule.type === undefined ? undefined : [rule.type].flat();
  if (types && !types.some((type) => matchesType(value, type))) return [...out, `${path}: type ${types.join('|')}`];
  if ('const' in rule && value !== rule.const) out.push(`${path}: const`);
  if (rule.enum && !rule.enum.includes(value)) out.push(`${path}: enum ${JSON.stringify(value)}`);
  if (typeof value === 'string') {
    if (rule.pattern && !new RegExp(rule.pattern, 'u').test(value)) out.push(`${path}: pattern ${value}`);
    if (rule.maxLength !== undefined && value.length > rule.maxLength) out.push(`${path}: maxLength`);
    if (rule.format === 'date-time' && Number.isNaN(Date.parse(value))) out.push(`${path}: date-time`);
  }
  if (typeof value === 'number') {
    if (rule.minimum !== undefined && value < rule.minimum) out.push(`${path}: minimum`);
    if (rule.exclusiveMinimum !== undefined && value <= rule.exclusiveMinimum) out.push(`${path}: exclusiveMinimum`);
  }
  if (Array.isArray(value)) {
    if (rule.minItems !== undefined && value.length < rule.minItems) out.push(`${path}: minItems`);
    if (rule.uniqueItems && new Set(value.map((v) => JSON.stringify(v))).size !== value.length) out.push(`${path}: uniqueItems`);
    if (rule.items) value.forEach((item, i) => out.push(...violations(item, rule.items, `${path}[${i}]`)));
  }
  if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
    for (const name of rule.required ?? []) if (!(name in value)) out.push(`${path}: required ${name}`);
    for (const [name, member] of Object.entries(value)) {
      const sub = rule.properties?.[name];
      if (sub) out.push(...violations(member, sub, `${path}.${name}`));
      else if (rule.additionalProperties === false) out.push(`${path}: additional ${name}`);
    }
  }
  return out;
}

function resolveRef(ref: string): Json {
  return ref
    .replace(/^#\//, '')
    .split('/')
    .reduce((node: Json, part) => node[part], schema);
}

function matchesType(value: Json, type: string): boolean {
  if (type === 'null') return value === null;
  if (type === 'array') return Array.isArray(value);
  if (type === 'integer') return Number.isInteger(value);
  if (type === 'object') return typeof value === 'object' && value !== null && !Array.isArray(value);
  return typeof value === type;
}

test('the file written from a reference-format file conforms to the published schema', (t) => {
  const dir = tempDir(t);
  const source = writeFileWithMode(join(dir, 'flat.json'), {
    version: 1,
    keys: [
      {
        id: 'everything',
        hash: `sha256:${'AB'.repeat(32)}`,
        scopes: ['qot:read', 'acc:read', 'trade:simulate', 'trade:real', 'trade:unlock'],
        allowed_markets: ['HK', 'US', 'CN'],
        allowed_symbols: ['HK.00700', 'US.brk.b', 'SH.600519'],
        allowed_trd_sides: ['BUY', 'SELL', 'SELL_SHORT', 'BUY_BACK'],
        allowed_acc_ids: [12, '0042', '18446744073709551615'],
        max_order_value: 0.5,
        max_daily_value: 1e9,
        max_orders_per_minute: 1,
        hours_window: '22:00-04:00',
        limit_currency: 'CNH',
        allowed_machines: ['CD'.repeat(32)],
        created_at: '2026-04-15T18:00:00+08:00',
        expires_at: '2026-05-15T10:00:00.5Z',
        note: 'all fields',
        require_confirmation: { above_value: 100_000 },
        confirmation_channel: 'out_of_band',
      },
      { id: 'minimal', hash: 'ef'.repeat(32), scopes: ['qot:read'] },
    ],
  });
  const written = join(dir, 'keys.json');
  writeKeysFile(written, readKeysFile(source));
  const document = JSON.parse(readFileSync(written, 'utf8'));
  assert.deepEqual(violations(document, schema), []);
  // Every member the schema describes is written out, so the file documents itself.
  for (const key of document.keys) {
    assert.deepEqual(Object.keys(key).sort(), Object.keys(schema.$defs.key.properties).sort());
    assert.deepEqual(Object.keys(key.limits).sort(), Object.keys(schema.$defs.limits.properties).sort());
  }
});

test('the validator used here does catch a record the schema forbids', () => {
  const bad = { version: 1, keys: [{ id: 'x', hash: 'sha256:abc', scopes: [], extra: 1, limits: { max_order_value: 0 } }] };
  assert.deepEqual(violations(bad, schema), [
    '$.keys[0].hash: pattern sha256:abc',
    '$.keys[0].scopes: minItems',
    '$.keys[0]: additional extra',
    '$.keys[0].limits.max_order_value: exclusiveMinimum',
  ]);
});

test("the schema's vocabularies are the code's", () => {
  const key = schema.$defs.key.properties;
  const limits = schema.$defs.limits.properties;
  assert.deepEqual(key.scopes.items.enum, [...SCOPES]);
  assert.deepEqual(limits.allowed_trd_sides.items.enum, [...TRD_SIDES]);
  assert.deepEqual(limits.allowed_markets.items.enum, [...MARKET_CODES]);
  assert.deepEqual(limits.limit_currency.enum, [...LIMIT_CURRENCIES, null]);
});

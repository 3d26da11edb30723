import { z } from 'zod';
import { MARKET_CODES, SYMBOL_FORMAT_HINT, parseSymbol, type MarketCode } from '../gateway/symbol.js';
import { keysFileInvalid } from './errors.js';
import { normalizeFingerprint } from './machine.js';
import { parseRfc3339 } from './time.js';
import { CONFIRMATION_CHANNELS, LIMIT_CURRENCIES, SCOPES, TRD_SIDES, type KeyLimits, type KeyRecord, type Scope, type TrdSide } from './types.js';
import { deepFreeze } from '../shared/deepFreeze.js';
import { truncate } from '../shared/truncate.js';

/**
 * keys.json validation (zod 4) and its canonical serialization. Two record shapes load: the
 * nested form we write (limits under `limits`, described by schemas/keys.schema.json) and the
 * flat form seen in the wild (limit fields on the record itself). Unknown fields are refused
 * rather than ignored: a misspelt limit silently ignored would be a limit not enforced.
 */

/** Aliases from the reference product; both mean A-shares, which trade as SH.* / SZ.* here. */
export const MARKET_ALIASES: Readonly<Record<string, readonly MarketCode[]>> = { CN: ['SH', 'SZ'], HKCC: ['SH', 'SZ'] };
const ACCEPTED_MARKETS = [...MARKET_CODES, ...Object.keys(MARKET_ALIASES)];

export const KEY_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
const HASH = /^(?:sha256:)?([0-9a-fA-F]{64})$/;
const HOURS_WINDOW = /^([01]\d|2[0-3]):([0-5]\d)-([01]\d|2[0-3]):([0-5]\d)$/;
const DECIMAL_ID = /^\d{1,20}$/;
const MAX_U64 = 2n ** 64n - 1n;
const CONTROL_CHARS = /[\u0000-\u001f\u007f]/;
const MAX_NOTE_LENGTH = 500;

/** Messages for a wrong JSON type; an absent required field reads "required". */
const expected = (what: string) => (issue: { input?: unknown }) =>
  issue.input === undefined ? 'required' : `expected ${what}`;

/** A string field whose value `parse` normalises, or rejects with `complaint(value)`. */
function parsedString<T>(parse: (value: string) => T | undefined, complaint: (value: string) => string) {
  return z.string({ error: expected('a string') }).transform((value, ctx) => {
    const out = parse(value);
    if (out === undefined) {
      ctx.addIssue({ code: 'custom', message: complaint(value) });
      return z.NEVER;
    }
    return out;
  });
}

const quoted = (value: string) => JSON.stringify(truncate(value, 40));
const unique = <T>(values: readonly T[]): T[] => [...new Set(values)];
const list = <T extends z.ZodType>(element: T) => z.array(element, { error: expected('a list') });
/** null and absent mean the same: no restriction / not set. */
const optional = <T extends z.ZodType>(schema: T) => schema.nullable().optional();

const keyId = z
  .string({ error: expected('a string') })
  .regex(KEY_ID_PATTERN, { error: 'expected 1-64 letters, digits, ".", "_" or "-", starting with a letter or digit' });

const hash = parsedString(
  (value) => HASH.exec(value)?.[1]?.toLowerCase(),
  () => 'expected 64 hex digits of SHA-256, optionally prefixed "sha256:"',
);

const scope = parsedString(
  (value) => (SCOPES as readonly string[]).includes(value) ? (value as Scope) : undefined,
  (value) => `unknown scope ${quoted(value)} (known: ${SCOPES.join(', ')})`,
);

const market = parsedString(
  (value) => MARKET_ALIASES[value] ?? ((MARKET_CODES as readonly string[]).includes(value) ? [value as MarketCode] : undefined),
  (value) => `unknown market ${quoted(value)} (accepted: ${ACCEPTED_MARKETS.join(', ')})`,
);

const symbol = parsedString(
  (value) => {
    try {
      const parsed = parseSymbol(value);
      return `${parsed.market}.${parsed.code.toUpperCase()}`;
    } catch {
      return undefined;
    }
  },
  (value) => `invalid symbol ${quoted(value)}: expected ${SYMBOL_FORMAT_HINT}`,
);

const trdSide = parsedString(
  (value) => (TRD_SIDES as readonly string[]).includes(value) ? (value as TrdSide) : undefined,
  (value) => `unknown side ${quoted(value)} (accepted: ${TRD_SIDES.join(', ')})`,
);

/** 64-bit account ids: decimal strings, or JSON numbers only while they are still exact. */
const accId = z.unknown().transform((value, ctx) => {
  if (typeof value === 'number') {
    if (Number.isSafeInteger(value) && value >= 0) return String(value);
    ctx.addIssue({
      code: 'custom',
      message: Number.isInteger(value) && value > 0
        ? 'account id is above 2^53 and lost precision as a JSON number: write it as a decimal string'
        : 'expected a non-negative integer account id',
    });
    return z.NEVER;
  }
  const decimal = typeof value === 'string' && DECIMAL_ID.test(value);
  if (decimal && BigInt(value) <= MAX_U64) return BigInt(value).toString();
  ctx.addIssue({
    code: 'custom',
    message: decimal ? 'account id does not fit in 64 bits' : 'expected an account id as a decimal string (e.g. "281756455982434220")',
  });
  return z.NEVER;
});

const hoursWindow = parsedString(
  (value) => {
    const m = HOURS_WINDOW.exec(value);
    return m && `${m[1]}:${m[2]}` !== `${m[3]}:${m[4]}` ? value : undefined;
  },
  () => 'expected "HH:MM-HH:MM" (24-hour, start and end different, e.g. "09:30-16:00" or "22:00-04:00")',
);

const positiveNumber = z
  .number({ error: expected('a positive number') })
  .positive({ error: 'expected a positive number' });
const positiveInteger = z
  .number({ error: expected('a positive integer') })
  .int({ error: 'expected a positive integer' })
  .positive({ error: 'expected a positive integer' });

const limitCurrency = parsedString(
  (value) => (LIMIT_CURRENCIES as readonly string[]).includes(value) ? (value as KeyLimits['limit_currency']) : undefined,
  (value) => `unknown currency ${quoted(value)} (accepted: ${LIMIT_CURRENCIES.join(', ')})`,
);

const fingerprint = parsedString(normalizeFingerprint, () => 'expected a machine fingerprint: "fp_" + 64 hex digits');

const timestamp = parsedString(
  (value) => {
    const ms = parseRfc3339(value);
    return ms === undefined ? undefined : new Date(ms).toISOString();
  },
  (value) => `expected an RFC 3339 date-time (e.g. "2026-05-15T10:00:00Z"), got ${quoted(value)}`,
);

const note = z
  .string({ error: expected('a string') })
  .max(MAX_NOTE_LENGTH, { error: `expected at most ${MAX_NOTE_LENGTH} characters` })
  .refine((value) => !CONTROL_CHARS.test(value), { error: 'control characters are not allowed' });

const limitFields = {
  allowed_markets: optional(list(market).transform((groups) => unique(groups.flat()))),
  allowed_symbols: optional(list(symbol).transform(unique)),
  allowed_trd_sides: optional(list(trdSide).transform(unique)),
  allowed_acc_ids: optional(list(accId).transform(unique)),
  max_order_value: optional(positiveNumber),
  max_daily_value: optional(positiveNumber),
  max_orders_per_minute: optional(positiveInteger),
  hours_window: optional(hoursWindow),
  limit_currency: optional(limitCurrency),
  manage_any_order: optional(z.boolean({ error: expected('true or false') })),
  max_cancels_per_minute: optional(positiveInteger),
  max_calls_per_minute: optional(positiveInteger),
};

const requireConfirmation = z.union(
  [z.enum(['never', 'real', 'always']), z.strictObject({ above_value: positiveNumber })],
  { error: expected('"never", "real", "always" or {"above_value": N}') },
);
const confirmationChannel = z.enum(CONFIRMATION_CHANNELS, { error: expected(CONFIRMATION_CHANNELS.map((c) => `"${c}"`).join(' or ')) });

const recordFields = {
  id: keyId,
  hash,
  scopes: list(scope)
    .min(1, { error: 'expected at least one scope' })
    .transform(unique),
  allowed_machines: optional(list(fingerprint).transform(unique)),
  created_at: optional(timestamp),
  expires_at: optional(timestamp),
  note: optional(note),
  require_confirmation: optional(requireConfirmation),
  confirmation_channel: optional(confirmationChannel),
};

const nestedRecord = z.strictObject({ ...recordFields, limits: optional(z.strictObject(limitFields)) });
const flatRecord = z.strictObject({ ...recordFields, ...limitFields });
type ParsedLimits = z.output<z.ZodObject<typeof limitFields>>;

const document = z.strictObject({
  version: z.literal(1, { error: expected('1') }),
  keys: list(z.unknown()),
});

export interface RecordIssue {
  /** Field path inside the record, e.g. ["limits", "max_order_value"] or ["scopes", 2]. */
  readonly path: readonly PropertyKey[];
  readonly message: string;
}

export type RecordParse = { ok: true; record: KeyRecord } | { ok: false; issues: RecordIssue[] };

/** Validates and normalises one key record in either shape. */
export function parseKeyRecord(raw: unknown): RecordParse {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    return { ok: false, issues: [{ path: [], message: 'expected an object' }] };
  }
  const nested = 'limits' in raw;
  const result = (nested ? nestedRecord : flatRecord).safeParse(raw);
  if (!result.success) return { ok: false, issues: result.error.issues.map(toRecordIssue) };
  const { id, hash, scopes, allowed_machines, created_at, expires_at, note, require_confirmation, confirmation_channel } = result.data;
  const limits = nested ? (result.data as z.output<typeof nestedRecord>).limits : (result.data as ParsedLimits);
  return {
    ok: true,
    record: deepFreeze({
      id,
      hash,
      scopes,
      limits: normaliseLimits(limits ?? {}),
      allowed_machines: allowed_machines ?? null,
      created_at: created_at ?? null,
      expires_at: expires_at ?? null,
      note: note ?? null,
      require_confirmation: require_confirmation ?? null,
      confirmation_channel: confirmation_channel ?? null,
    }),
  };
}

/**
 * Validates a parsed keys.json document. Throws KEYS_FILE_INVALID naming `label` (the file), the
 * key and the field, e.g. `keys.json: key "claude-bot": limits.max_order_value: expected a
 * positive number`.
 */
export function parseKeysDocument(json: unknown, label: string): KeyRecord[] {
  const top = document.safeParse(json);
  if (!top.success) {
    if (typeof json !== 'object' || json === null || Array.isArray(json)) {
      throw keysFileInvalid(`${label}: expected an object {"version": 1, "keys": [...]}`);
    }
    throw keysFileInvalid(`${label}: ${describeIssues(top.error.issues.map(toRecordIssue))}`);
  }
  const records = top.data.keys.map((raw, index) => {
    const parsed = parseKeyRecord(raw);
    if (!parsed.ok) throw keysFileInvalid(`${label}: ${recordLabel(raw, index)}: ${describeIssues(parsed.issues)}`);
    return parsed.record;
  });
  assertDistinct(records, label);
  return records;
}

/** The canonical file text: nested form, every limit written out, trailing newline. */
export function serializeKeysDocument(records: readonly KeyRecord[]): string {
  return JSON.stringify({ version: 1, keys: records }, null, 2) + '\n';
}

function formatIssuePath(path: readonly PropertyKey[]): string {
  return path
    .map((segment, i) => (typeof segment === 'number' ? `[${segment}]` : `${i === 0 ? '' : '.'}${String(segment)}`))
    .join('');
}

/** "path: message" for each issue, the first few only: one screen, not a wall of errors. */
function describeIssues(issues: readonly RecordIssue[]): string {
  const shown = issues.slice(0, 3).map((issue) => (issue.path.length > 0 ? `${formatIssuePath(issue.path)}: ${issue.message}` : issue.message));
  const more = issues.length > shown.length ? `; and ${issues.length - shown.length} more` : '';
  return shown.join('; ') + more;
}

function toRecordIssue(issue: z.core.$ZodIssue): RecordIssue {
  if (issue.code !== 'unrecognized_keys') return { path: issue.path, message: issue.message };
  const messages = issue.keys.map((field) =>
    field === 'revoked'
      ? '"revoked" is not supported: revoke a key by deleting its record (futucli revoke-key ID)'
      : `unknown field ${quoted(field)}`,
  );
  return { path: issue.path, message: messages.join('; ') };
}

function recordLabel(raw: unknown, index: number): string {
  const id = typeof raw === 'object' && raw !== null ? (raw as { id?: unknown }).id : undefined;
  return typeof id === 'string' && KEY_ID_PATTERN.test(id) ? `key "${id}"` : `keys[${index}]`;
}

function assertDistinct(records: readonly KeyRecord[], label: string): void {
  const byId = new Set<string>();
  const idByHash = new Map<string, string>();
  for (const record of records) {
    if (byId.has(record.id)) throw keysFileInvalid(`${label}: duplicate key id "${record.id}"`);
    byId.add(record.id);
    const other = idByHash.get(record.hash);
    // Two records for one secret would make authentication ambiguous.
    if (other !== undefined) throw keysFileInvalid(`${label}: keys "${other}" and "${record.id}" have the same hash`);
    idByHash.set(record.hash, record.id);
  }
}

function normaliseLimits(limits: Partial<ParsedLimits>): KeyLimits {
  return {
    allowed_markets: limits.allowed_markets ?? null,
    allowed_symbols: limits.allowed_symbols ?? null,
    allowed_trd_sides: limits.allowed_trd_sides ?? null,
    allowed_acc_ids: limits.allowed_acc_ids ?? null,
    max_order_value: limits.max_order_value ?? null,
    max_daily_value: limits.max_daily_value ?? null,
    max_orders_per_minute: limits.max_orders_per_minute ?? null,
    hours_window: limits.hours_window ?? null,
    limit_currency: limits.limit_currency ?? 'HKD',
    manage_any_order: limits.manage_any_order ?? false,
    max_cancels_per_minute: limits.max_cancels_per_minute ?? null,
    max_calls_per_minute: limits.max_calls_per_minute ?? null,
  };
}

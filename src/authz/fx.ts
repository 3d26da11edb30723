import { readFileSync } from 'node:fs';
import { LIMIT_CURRENCIES, type LimitCurrency } from '../keys/types.js';
import { AuthzError } from './errors.js';
import { multiply, parseDecimal, type Ratio } from './money.js';

/**
 * FX for limit checks: an order priced in its market's currency is converted into the key's
 * limit currency. Rates are given as "HKD per one unit" so every cross rate follows from one
 * column; every conversion between different currencies adds `marginBps` so that a stale table
 * overstates rather than understates an order.
 */
export interface FxTable {
  readonly asOf: string;
  readonly source: string;
  readonly marginBps: number;
  readonly hkdPer: Readonly<Record<LimitCurrency, string>>;
}

/**
 * Shipped table: approximate market rates at the end of June 2025, USD/HKD taken at the weak
 * end of the 7.75-7.85 peg band. The 2% margin absorbs the peg band and ordinary CNH moves;
 * operators should still point `--fx-file` at current rates.
 */
export const BUILTIN_FX_TABLE: FxTable = {
  asOf: '2025-06-30',
  source: 'built-in reference rates (approximate); override with an FX file',
  marginBps: 200,
  hkdPer: { HKD: '1', USD: '7.85', CNH: '1.0956' },
};

export class FxConverter {
  private readonly hkdPer: Record<LimitCurrency, Ratio>;
  private readonly margin: Ratio;

  constructor(readonly table: FxTable = BUILTIN_FX_TABLE) {
    this.hkdPer = Object.fromEntries(
      LIMIT_CURRENCIES.map((c) => [c, positiveRate(table.hkdPer[c], `FX rate HKD per ${c}`)]),
    ) as Record<LimitCurrency, Ratio>;
    if (!Number.isSafeInteger(table.marginBps) || table.marginBps < 0 || table.marginBps > 10_000) {
      throw new AuthzError('INVALID_VALUE', 'invalid value: FX marginBps must be an integer 0..10000');
    }
    this.margin = { num: BigInt(10_000 + table.marginBps), den: 10_000n };
  }

  /** The multiplier from `from` to `to`, margin included; exactly 1 for the same currency. */
  rate(from: LimitCurrency, to: LimitCurrency): Ratio {
    if (from === to) return { num: 1n, den: 1n };
    const a = this.hkdPer[from];
    const b = this.hkdPer[to];
    return multiply({ num: a.num * b.den, den: a.den * b.num }, this.margin);
  }
}

/** Reads an operator FX file with the FxTable shape; any defect is an INVALID_VALUE. */
export function loadFxTable(path: string): FxTable {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new AuthzError('INVALID_VALUE', `invalid value: cannot read FX file ${path}: ${(err as Error).message}`);
  }
  const t = parsed as Partial<FxTable> | null;
  const hkdPer = t?.hkdPer as Record<string, unknown> | undefined;
  if (
    typeof t?.asOf !== 'string' ||
    typeof t.marginBps !== 'number' ||
    typeof hkdPer !== 'object' ||
    hkdPer === null ||
    !LIMIT_CURRENCIES.every((c) => typeof hkdPer[c] === 'string')
  ) {
    throw new AuthzError(
      'INVALID_VALUE',
      `invalid value: FX file ${path} must be {"asOf": "YYYY-MM-DD", "marginBps": N, "hkdPer": {"HKD": "1", "USD": "...", "CNH": "..."}}`,
    );
  }
  const table: FxTable = {
    asOf: t.asOf,
    source: typeof t.source === 'string' ? t.source : path,
    marginBps: t.marginBps,
    hkdPer: hkdPer as Record<LimitCurrency, string>,
  };
  new FxConverter(table); // validates the rates
  return table;
}

function positiveRate(text: string, what: string): Ratio {
  const r = parseDecimal(text, what);
  if (r.num === 0n) throw new AuthzError('INVALID_VALUE', `invalid value: ${what} must be positive`);
  return r;
}

import { AuthzError } from './errors.js';

/**
 * Exact money arithmetic. Prices, quantities and FX rates arrive as JS numbers or decimal
 * strings; they are turned into exact rationals (BigInt numerator/denominator) so products are
 * exact, and only the final result is rounded, always in the direction that is safe for limits.
 */
export interface Ratio {
  readonly num: bigint;
  readonly den: bigint;
}

/** HKD, USD and CNH all use cents. */
const MINOR_UNITS_PER_MAJOR = 100n;

const DECIMAL = /^(\d+)(?:\.(\d+))?(?:e([+-]?\d+))?$/i;

/**
 * The exact value of a non-negative decimal: a JS number is read through its shortest
 * round-trip string ("0.1" is one tenth, not the binary double), so users get the number they
 * typed.
 */
export function parseDecimal(value: number | string, what: string): Ratio {
  if (typeof value === 'number' && !Number.isFinite(value)) throw invalid(what, value);
  const match = DECIMAL.exec(String(value).trim());
  if (!match) throw invalid(what, value);
  const [, whole = '', fraction = '', exponentText = '0'] = match;
  const exponent = Number(exponentText) - fraction.length;
  if (Math.abs(exponent) > 400) throw invalid(what, value);
  const digits = BigInt(whole + fraction);
  return exponent >= 0 ? { num: digits * 10n ** BigInt(exponent), den: 1n } : { num: digits, den: 10n ** BigInt(-exponent) };
}

export function multiply(...factors: Ratio[]): Ratio {
  return factors.reduce((acc, f) => ({ num: acc.num * f.num, den: acc.den * f.den }), { num: 1n, den: 1n });
}

export function add(a: Ratio, b: Ratio): Ratio {
  return { num: a.num * b.den + b.num * a.den, den: a.den * b.den };
}

export function subtract(a: Ratio, b: Ratio): Ratio {
  return { num: a.num * b.den - b.num * a.den, den: a.den * b.den };
}

export function isPositive(r: Ratio): boolean {
  return r.num > 0n;
}

/** Minor units, rounded up: a value is never understated. */
export function ceilMinorUnits(major: Ratio): bigint {
  const scaled = major.num * MINOR_UNITS_PER_MAJOR;
  const quotient = scaled / major.den;
  return scaled % major.den === 0n || scaled < 0n ? quotient : quotient + 1n;
}

/** Minor units, rounded down: a limit is never overstated. */
export function floorMinorUnits(major: Ratio): bigint {
  return (major.num * MINOR_UNITS_PER_MAJOR) / major.den;
}

/** A Cedar Long the JS side can carry exactly (Cedar rejects floats, JS rounds above 2^53). */
export function toSafeLong(value: bigint, what: string): number {
  if (value < 0n || value > BigInt(Number.MAX_SAFE_INTEGER)) {
    throw new AuthzError('INVALID_VALUE', `invalid value: ${what} is out of range`);
  }
  return Number(value);
}

/** The number-typed twin of toSafeLong, for counts and sums that never left JS numbers. */
export function checkedLong(value: number, what: string): number {
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new AuthzError('INVALID_VALUE', `invalid value: ${what} is out of range`);
  }
  return value;
}

/** "HKD 60,000.00" from minor units. */
export function formatMoney(minorUnits: number, currency: string): string {
  const sign = minorUnits < 0 ? '-' : '';
  const abs = BigInt(Math.abs(Math.trunc(minorUnits)));
  const major = (abs / MINOR_UNITS_PER_MAJOR).toString().replace(/\B(?=(\d{3})+(?!\d))/g, ',');
  const cents = (abs % MINOR_UNITS_PER_MAJOR).toString().padStart(2, '0');
  return `${currency} ${sign}${major}.${cents}`;
}

function invalid(what: string, value: unknown): AuthzError {
  return new AuthzError('INVALID_VALUE', `invalid value: ${what} must be a non-negative decimal number, got ${String(value).slice(0, 40)}`);
}

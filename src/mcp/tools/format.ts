import { parseSymbol, type MarketCode } from '../../gateway/symbol.js';

/**
 * Number formatting for the one-line summaries above each result, and the derived fields every
 * price output shares. Summaries are for humans skimming a transcript; the JSON stays exact.
 */

/** The currency prices are quoted in (A-shares quote in CNY; Stock Connect settles in CNH). */
const QUOTE_CURRENCY: Record<MarketCode, string> = { HK: 'HKD', US: 'USD', SH: 'CNY', SZ: 'CNY' };

export function quoteCurrency(symbol: string): string {
  return QUOTE_CURRENCY[parseSymbol(symbol).market];
}

/** Rounds away binary noise (350.2 - 346 = 4.199999…) at a precision finer than any tick. */
function round(value: number, decimals: number): number {
  const factor = 10 ** decimals;
  return Math.round(value * factor) / factor;
}

/** Change against the previous close; absent when there is no previous close to compare with. */
export function changeFields(price: number, lastClose: number): { change?: number; change_rate?: number } {
  if (!(lastClose > 0)) return {};
  return { change: round(price - lastClose, 4), change_rate: round(((price - lastClose) / lastClose) * 100, 2) };
}

// Number#toLocaleString builds a formatter per call (tens of µs); these are built once.
const PRICE = new Intl.NumberFormat('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 4, useGrouping: false });
const MONEY = new Intl.NumberFormat('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 });
const QTY = new Intl.NumberFormat('en-US', { maximumFractionDigits: 4 });

export function formatPrice(value: number): string {
  return PRICE.format(value);
}

export function formatMoney(value: number): string {
  return MONEY.format(value);
}

export function formatQty(value: number): string {
  return QTY.format(value);
}

/** "+1.21%" / "-0.35%". */
export function formatPercent(value: number): string {
  return `${value >= 0 ? '+' : ''}${value.toFixed(2)}%`;
}

/** "a; b; c; … (+7 more)": keeps a summary to one readable line. */
export function joinFirst(items: readonly string[], max: number): string {
  const shown = items.slice(0, max).join('; ');
  return items.length > max ? `${shown}; … (+${items.length - max} more)` : shown;
}

export function plural(n: number, noun: string, nouns = `${noun}s`): string {
  return `${n} ${n === 1 ? noun : nouns}`;
}

/** A CSV cell: numbers and booleans as JSON writes them, text quoted only when it must be. */
function cell(value: unknown): string {
  if (value === undefined || value === null) return '';
  const text = typeof value === 'string' ? value : String(value);
  return /[",\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

/** A header row and one line per row, comma-separated: how series reach the model as text. */
export function csvTable(columns: readonly string[], rows: ReadonlyArray<readonly unknown[]>): string {
  return [columns.join(','), ...rows.map((row) => row.map(cell).join(','))].join('\n');
}

/** Rows of objects as a CSV table of the given fields, in that order. */
export function csvOf<T extends object>(columns: readonly (keyof T & string)[], items: readonly T[]): string {
  return csvTable(columns, items.map((item) => columns.map((c) => item[c])));
}

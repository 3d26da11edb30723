import { z } from 'zod';
import { GatewayError } from '../../gateway/errors.js';
import type { AccountRef } from '../../gateway/types.js';
import type { ToolContext } from './kit.js';

/**
 * The date range of the history tools: whole days, the last 30 by default, read from OpenD in
 * windows of at most 90 days (OpenD's limit per query), newest rows first.
 */

/** OpenD answers a history query for at most this many days. */
const OPEND_WINDOW_DAYS = 90;
const DEFAULT_DAYS = 30;
const MAX_DAYS = 366;
const DAY_MS = 86_400_000;
const DATE = /^\d{4}-\d{2}-\d{2}$/;

export const date = (what: string) =>
  z
    .string()
    .refine((s) => DATE.test(s), `${what} must be a date as YYYY-MM-DD`)
    .refine((s) => !DATE.test(s) || formatDate(parseDate(s)) === s, `${what} is not a calendar date`)
    .optional();

export const historyRangeArgs = {
  begin: date('begin').describe(`YYYY-MM-DD (default: end - ${DEFAULT_DAYS} days)`),
  end: date('end').describe('YYYY-MM-DD (default: today)'),
  limit: z.number().int().min(1).max(1000).default(200).describe('Max rows, newest first'),
};

export const historyRangeOutput = {
  begin: z.string(),
  end: z.string(),
  truncated: z.boolean().describe('More rows than limit'),
};

function parseDate(text: string): number {
  return Date.UTC(Number(text.slice(0, 4)), Number(text.slice(5, 7)) - 1, Number(text.slice(8, 10)));
}

function formatDate(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}

/** Today on OpenD's clock, in Hong Kong (where OpenD's day starts first of the markets it serves). */
export async function openDToday(ctx: ToolContext): Promise<string> {
  const { time } = await ctx.gateway.getGlobalState();
  return new Intl.DateTimeFormat('en-CA', { timeZone: 'Asia/Hong_Kong', year: 'numeric', month: '2-digit', day: '2-digit' }).format(new Date(time * 1000));
}

export interface HistoryRange {
  readonly begin: string;
  readonly end: string;
}

export async function historyRange(args: { begin?: string; end?: string }, ctx: ToolContext): Promise<HistoryRange> {
  const end = args.end ?? (await openDToday(ctx));
  const begin = args.begin ?? formatDate(parseDate(end) - DEFAULT_DAYS * DAY_MS);
  if (begin > end) throw new GatewayError('INVALID_ARGUMENT', `begin ${begin} is after end ${end}`);
  if ((parseDate(end) - parseDate(begin)) / DAY_MS >= MAX_DAYS) {
    throw new GatewayError('INVALID_ARGUMENT', `at most ${MAX_DAYS} days per call: ${begin} to ${end} is longer; split the range`);
  }
  return { begin, end };
}

/** The range cut into OpenD-sized windows, oldest first. */
function windows(range: HistoryRange): HistoryRange[] {
  const out: HistoryRange[] = [];
  const last = parseDate(range.end);
  for (let from = parseDate(range.begin); from <= last; from += OPEND_WINDOW_DAYS * DAY_MS) {
    out.push({ begin: formatDate(from), end: formatDate(Math.min(last, from + (OPEND_WINDOW_DAYS - 1) * DAY_MS)) });
  }
  return out;
}

/** Reads every window of the range for one account view, in sequence (OpenD rate-limits history queries). */
export async function readWindows<T>(view: AccountRef, range: HistoryRange, read: (view: AccountRef, window: HistoryRange) => Promise<readonly T[]>): Promise<T[]> {
  const rows: T[] = [];
  for (const window of windows(range)) rows.push(...(await read(view, window)));
  return rows;
}

/** Newest first, cut at limit. */
export function newestFirst<T>(rows: readonly T[], timeOf: (row: T) => string, limit: number): { rows: T[]; truncated: boolean } {
  const sorted = [...rows].sort((a, b) => (timeOf(a) < timeOf(b) ? 1 : timeOf(a) > timeOf(b) ? -1 : 0));
  return { rows: sorted.slice(0, limit), truncated: sorted.length > limit };
}

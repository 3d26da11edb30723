import { z } from 'zod';
import { GatewayError } from '../../gateway/errors.js';
import { MARKET_CODES, type MarketCode } from '../../gateway/symbol.js';
import { READ_TOOL_ANNOTATIONS } from '../tool.js';
import { market } from './args.js';
import { date } from './history.js';
import { defineTool } from './kit.js';
import { callPlan } from './plans.js';

/** Regular sessions in exchange-local time (HH:MM), used for the next open and close. */
const HOURS: Record<MarketCode, { readonly timezone: string; readonly sessions: readonly (readonly [string, string])[] }> = {
  HK: { timezone: 'Asia/Hong_Kong', sessions: [['09:30', '12:00'], ['13:00', '16:00']] },
  US: { timezone: 'America/New_York', sessions: [['09:30', '16:00']] },
  SH: { timezone: 'Asia/Shanghai', sessions: [['09:30', '11:30'], ['13:00', '15:00']] },
  SZ: { timezone: 'Asia/Shanghai', sessions: [['09:30', '11:30'], ['13:00', '15:00']] },
};
const DAY_MS = 86_400_000;
const DEFAULT_DAYS = 14;
const MAX_DAYS = 366;
/** How far ahead the next open is looked for (long holidays included). */
const LOOKAHEAD_DAYS = 14;

const addDays = (day: string, n: number): string => new Date(Date.parse(day) + n * DAY_MS).toISOString().slice(0, 10);

function localNow(timezone: string, epochMs: number): { day: string; time: string } {
  const parts = Object.fromEntries(
    new Intl.DateTimeFormat('en-CA', { timeZone: timezone, year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' })
      .formatToParts(new Date(epochMs))
      .map((p) => [p.type, p.value]),
  );
  return { day: `${parts.year}-${parts.month}-${parts.day}`, time: `${parts.hour}:${parts.minute}` };
}

/** The next session open and the close of the session now running or next to run, from the trading days ahead. */
function nextOpenClose(m: MarketCode, now: { day: string; time: string }, days: readonly string[]): { next_open?: string; next_close?: string } {
  const upcoming = days.filter((d) => d >= now.day).flatMap((d) => HOURS[m].sessions.map(([open, close]) => ({ open: `${d} ${open}`, close: `${d} ${close}` })));
  const stamp = `${now.day} ${now.time}`;
  const current = upcoming.find((s) => s.close > stamp);
  const next = upcoming.find((s) => s.open > stamp);
  return { ...(next ? { next_open: next.open } : {}), ...(current ? { next_close: current.close } : {}) };
}

export const getMarketState = defineTool({
  name: 'futu_get_market_state',
  title: 'Market hours and trading days',
  description:
    'Whether each market is trading now (OpenD\'s state), its next open and close (exchange-local) and its trading days in begin..end (default the next 14 days).',
  scope: 'qot:read',
  input: z.strictObject({
    markets: z.array(market).min(1).max(4).optional().describe('Default all'),
    begin: date('begin').describe('Trading days from YYYY-MM-DD (default today)'),
    end: date('end').describe(`YYYY-MM-DD (default begin + ${DEFAULT_DAYS - 1} days, at most ${MAX_DAYS} days)`),
  }),
  output: z.object({
    opend_time: z.string().describe('OpenD\'s clock, UTC'),
    markets: z.array(
      z.object({
        market: z.string(),
        state: z.string(),
        trading_now: z.boolean(),
        timezone: z.string(),
        local_time: z.string(),
        next_open: z.string().optional().describe('Exchange-local YYYY-MM-DD HH:MM'),
        next_close: z.string().optional(),
        trading_days: z.array(z.string()),
      }),
    ),
  }),
  annotations: READ_TOOL_ANNOTATIONS,
  summarize: (r) => r.markets.map((m) => `${m.market} ${m.state}${m.trading_now ? ` until ${m.next_close?.slice(11)}` : m.next_open ? `, opens ${m.next_open}` : ''}`).join('; '),
  authz: async (args) => callPlan('futu_get_market_state', args),
  execute: async (args, ctx) => {
    const markets = [...new Set(args.markets ?? MARKET_CODES)];
    const { time } = await ctx.gateway.getGlobalState();
    const epochMs = time * 1000;
    const states = await ctx.gateway.research.getMarketStates(markets);
    const rows = await Promise.all(
      markets.map(async (m, i) => {
        const now = localNow(HOURS[m].timezone, epochMs);
        const begin = args.begin ?? now.day;
        const end = args.end ?? addDays(begin, DEFAULT_DAYS - 1);
        if (begin > end) throw new GatewayError('INVALID_ARGUMENT', `begin ${begin} is after end ${end}`);
        if ((Date.parse(end) - Date.parse(begin)) / DAY_MS >= MAX_DAYS) throw new GatewayError('INVALID_ARGUMENT', `at most ${MAX_DAYS} days of trading days per call`);
        const from = begin < now.day ? begin : now.day;
        const to = end > addDays(now.day, LOOKAHEAD_DAYS) ? end : addDays(now.day, LOOKAHEAD_DAYS);
        const days = await ctx.gateway.research.getTradingDays(m, from, to);
        const state = states[i]!.state;
        const times = nextOpenClose(m, now, days);
        const inSession = times.next_close !== undefined && (times.next_open === undefined || times.next_open > times.next_close);
        return {
          market: m,
          state,
          trading_now: inSession,
          timezone: HOURS[m].timezone,
          local_time: `${now.day} ${now.time}`,
          ...times,
          trading_days: days.filter((d) => d >= begin && d <= end),
        };
      }),
    );
    return { opend_time: new Date(epochMs).toISOString().slice(0, 19) + 'Z', markets: rows };
  },
});

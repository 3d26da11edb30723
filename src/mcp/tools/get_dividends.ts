import { z } from 'zod';
import { READ_TOOL_ANNOTATIONS } from '../tool.js';
import { symbol } from './args.js';
import { csvOf, joinFirst } from './format.js';
import { defineTool } from './kit.js';
import { callPlan } from './plans.js';
import { pageArgs, pageNote, pageOf, pageOutput } from './research.js';

/** OpenD states the payout as text ("Final dividend HKD 2.7000 per share"): the amount is read from it. */
const AMOUNT = /\b([A-Z]{3})\s*([0-9]+(?:\.[0-9]+)?)/;

const COLUMNS = ['announced', 'ex_date', 'pay_date', 'currency', 'amount', 'statement'] as const;

export const getDividends = defineTool({
  name: 'futu_get_dividends',
  title: 'Dividend history',
  description: 'Dividends paid or declared, newest first: dates, amount per share, payout text.',
  scope: 'qot:read',
  input: z.strictObject({ symbol, ...pageArgs(50, 12) }),
  output: z.object({
    symbol: z.string(),
    ...pageOutput,
    dividends: z.array(
      z.object({
        announced: z.string(),
        ex_date: z.string().optional(),
        record_date: z.string().optional(),
        pay_date: z.string().optional(),
        currency: z.string().optional(),
        amount: z.number().optional().describe('Per share'),
        statement: z.string(),
      }),
    ),
  }),
  annotations: READ_TOOL_ANNOTATIONS,
  summarize: (r) =>
    `${r.symbol}: ${r.total} dividend${r.total === 1 ? '' : 's'}${pageNote(r)}${r.dividends.length ? ` — ${joinFirst(r.dividends.map((d) => `${d.ex_date ?? d.announced} ${d.statement}`), 2)}` : ''}`,
  render: (r) => csvOf(COLUMNS, r.dividends),
  authz: async (args) => callPlan('futu_get_dividends', args),
  execute: async (args, ctx) => {
    const all = await ctx.gateway.research.getDividends(args.symbol);
    const { rows, meta } = pageOf(all, args.page, args.page_size);
    return {
      symbol: args.symbol,
      ...meta,
      dividends: rows.map((d) => {
        const m = AMOUNT.exec(d.statement);
        return { announced: d.announced, ex_date: d.exDate, record_date: d.recordDate, pay_date: d.payDate, currency: m?.[1], amount: m ? Number(m[2]) : undefined, statement: d.statement };
      }),
    };
  },
});

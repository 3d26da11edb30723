import { z } from 'zod';
import { STATEMENT_TYPE, type StatementName } from '../../gateway/research.js';
import { READ_TOOL_ANNOTATIONS } from '../tool.js';
import { symbol } from './args.js';
import { csvTable, formatMoney } from './format.js';
import { defineTool } from './kit.js';
import { callPlan } from './plans.js';
import { pageArgs, snakeKey } from './research.js';

const STATEMENTS = Object.keys(STATEMENT_TYPE) as [StatementName, ...StatementName[]];
const MAX_PERIODS = 12;

export const getFinancials = defineTool({
  name: 'futu_get_financials',
  title: 'Financial statements',
  description:
    'Income statement, balance sheet or cash flow of a company by annual or quarterly period, newest first, in the reporting currency: fundamentals beyond the snapshot.',
  scope: 'qot:read',
  input: z.strictObject({
    symbol,
    statement: z.enum(STATEMENTS).default('income').describe('income, balance_sheet or cash_flow'),
    period: z.enum(['annual', 'quarterly']).default('annual'),
    ...pageArgs(MAX_PERIODS, 4),
  }),
  output: z.object({
    symbol: z.string(),
    statement: z.enum(STATEMENTS),
    period: z.enum(['annual', 'quarterly']),
    page: z.number(),
    has_more: z.boolean().describe('Older periods exist: call with page + 1'),
    reports: z.array(
      z.object({
        period: z.string().describe('e.g. 2025/FY, 2025/Q3'),
        end_date: z.string(),
        currency: z.string(),
        lines: z.record(z.string(), z.number()).describe('Line (revenue, net_income, total_assets, ...) → value in currency units; EPS per share'),
      }),
    ),
  }),
  annotations: READ_TOOL_ANNOTATIONS,
  summarize: (r) => {
    const latest = r.reports[0];
    if (!latest) return `${r.symbol} ${r.statement} ${r.period}: no reports`;
    const [name, value] = Object.entries(latest.lines)[0] ?? ['', 0];
    return `${r.symbol} ${r.statement} ${r.period}: ${r.reports.map((p) => p.period).join(', ')} — ${latest.period} ${name} ${formatMoney(value)} ${latest.currency}`;
  },
  render: (r) => {
    const names = [...new Set(r.reports.flatMap((p) => Object.keys(p.lines)))];
    return csvTable(['period', 'end_date', 'currency', ...names], r.reports.map((p) => [p.period, p.end_date, p.currency, ...names.map((n) => p.lines[n])]));
  },
  authz: async (args) => callPlan('futu_get_financials', args),
  execute: async (args, ctx) => {
    const offset = (args.page - 1) * args.page_size;
    const { reports, more } = await ctx.gateway.research.getFinancials(args.symbol, args.statement, args.period, offset, args.page_size);
    return {
      symbol: args.symbol,
      statement: args.statement,
      period: args.period,
      page: args.page,
      has_more: more,
      reports: reports.map((p) => ({ period: p.period, end_date: p.endDate, currency: p.currency, lines: Object.fromEntries(p.lines.map((l) => [snakeKey(l.name), l.value])) })),
    };
  },
});

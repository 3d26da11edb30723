import { z } from 'zod';
import { NEWS_KINDS } from '../../gateway/research.js';
import { READ_TOOL_ANNOTATIONS } from '../tool.js';
import { count } from './args.js';
import { csvTable, joinFirst, plural } from './format.js';
import { defineTool } from './kit.js';
import { callPlan } from './plans.js';

const KINDS = Object.keys(NEWS_KINDS) as (keyof typeof NEWS_KINDS)[];

export const searchNews = defineTool({
  name: 'futu_search_news',
  title: 'Search news',
  description:
    'Recent headlines, notices and rating changes for a company name, ticker or topic, newest first, with time (UTC), source and symbols.',
  scope: 'qot:read',
  input: z.strictObject({
    query: z.string().trim().min(1).max(64).describe('Company name, ticker or topic'),
    kind: z.enum(KINDS as [keyof typeof NEWS_KINDS, ...(keyof typeof NEWS_KINDS)[]]).default('all').describe('all, news, notice (filings) or rating'),
    limit: count('Max headlines', 10, 50),
  }),
  output: z.object({
    query: z.string(),
    news: z.array(z.object({ time: z.string(), title: z.string(), kind: z.string(), source: z.string(), symbols: z.array(z.string()), url: z.string().optional() })),
  }),
  annotations: READ_TOOL_ANNOTATIONS,
  summarize: (r) => `"${r.query}": ${plural(r.news.length, 'headline')}${r.news.length ? ` — ${joinFirst(r.news.map((n) => n.title), 2)}` : ''}`,
  render: (r) => csvTable(['time', 'kind', 'source', 'symbols', 'title'], r.news.map((n) => [n.time, n.kind, n.source, n.symbols.join(' '), n.title])),
  authz: async (args) => callPlan('futu_search_news', args),
  execute: async (args, ctx) => {
    const items = await ctx.gateway.research.searchNews(args.query, args.limit, args.kind);
    return { query: args.query, news: items.map((n) => ({ time: n.publishedAt, title: n.title, kind: n.kind, source: n.source, symbols: n.symbols, url: n.url })) };
  },
});

import { z } from 'zod';
import { GatewayError } from '../../gateway/errors.js';
import { READ_TOOL_ANNOTATIONS } from '../tool.js';
import { csvTable } from './format.js';
import { defineTool } from './kit.js';
import { callPlan } from './plans.js';

export const listWatchlists = defineTool({
  name: 'futu_list_watchlists',
  title: 'Watchlists',
  description: 'The user\'s watchlist groups in the Futu app (their own and the system ones) and the securities in each. Use it for "my watchlist" questions.',
  scope: 'qot:read',
  input: z.strictObject({ group: z.string().trim().min(1).max(64).optional().describe('One group by name (default all)') }),
  output: z.object({
    groups: z.array(z.object({ name: z.string(), system: z.boolean(), securities: z.array(z.object({ symbol: z.string(), name: z.string() })) })),
  }),
  annotations: READ_TOOL_ANNOTATIONS,
  summarize: (r) => r.groups.map((g) => `${g.name} (${g.securities.length})`).join(', ') || 'no watchlist groups',
  render: (r) => csvTable(['group', 'system', 'symbols'], r.groups.map((g) => [g.name, g.system, g.securities.map((s) => s.symbol).join(' ')])),
  authz: async (args) => callPlan('futu_list_watchlists', args),
  execute: async (args, ctx) => {
    const research = ctx.gateway.research;
    const all = await research.getWatchlistGroups();
    const groups = args.group === undefined ? all : all.filter((g) => g.name.toLowerCase() === args.group!.toLowerCase());
    if (groups.length === 0) throw new GatewayError('INVALID_ARGUMENT', `no watchlist group "${args.group}": the groups are ${all.map((g) => g.name).join(', ')}`);
    const members = await Promise.all(groups.map((g) => research.getWatchlist(g.name)));
    return { groups: groups.map((g, i) => ({ name: g.name, system: g.system, securities: members[i]!.map((m) => ({ symbol: m.symbol, name: m.name })) })) };
  },
});

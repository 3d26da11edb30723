import { z } from 'zod';
import { READ_TOOL_ANNOTATIONS } from '../tool.js';
import { defineTool } from './kit.js';
import { callPlan } from './plans.js';

export const ping = defineTool({
  name: 'futu_ping',
  title: 'Ping the gateway',
  description:
    'Checks that Futu OpenD is reachable and logged in, and measures the round trip: call it when other tools report "gateway not connected".',
  scope: 'qot:read',
  input: z.strictObject({}),
  output: z.object({
    rtt_ms: z.number(),
    opend_version: z.number(),
    quote_logged_in: z.boolean(),
    trade_logged_in: z.boolean(),
  }),
  annotations: READ_TOOL_ANNOTATIONS,
  summarize: (r) =>
    `OpenD ${r.opend_version} reachable in ${r.rtt_ms} ms; quotes ${r.quote_logged_in ? 'logged in' : 'NOT logged in'}, ` +
    `trading ${r.trade_logged_in ? 'logged in' : 'NOT logged in'}`,
  authz: async (args) => callPlan('futu_ping', args),
  execute: async (_args, ctx) => {
    const { rttMs } = await ctx.gateway.ping();
    const state = await ctx.gateway.getGlobalState();
    return { rtt_ms: rttMs, opend_version: state.serverVer, quote_logged_in: state.qotLoggedIn, trade_logged_in: state.trdLoggedIn };
  },
});

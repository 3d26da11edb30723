import { z } from 'zod';
import type { BrokerEntry } from '../../gateway/types.js';
import { READ_TOOL_ANNOTATIONS } from '../tool.js';
import { hkSymbol } from './args.js';
import { defineTool } from './kit.js';
import { symbolField } from './outputs.js';
import { callPlan } from './plans.js';

const brokerShape = z.object({
  broker_id: z.string(),
  broker_name: z.string(),
  level: z.number().describe('Price level from the best (0 = best)'),
});

const brokerOf = (b: BrokerEntry): z.input<typeof brokerShape> => ({ broker_id: b.id, broker_name: b.name, level: b.position });

const topNames = (entries: readonly { broker_name: string }[]) =>
  entries.length === 0 ? 'none' : [...new Set(entries.slice(0, 3).map((e) => e.broker_name))].join(', ');

export const getBroker = defineTool({
  name: 'futu_get_broker',
  title: 'Broker queue (HK)',
  description:
    'Which brokers queue on the bid and ask side of one security (HK only), best level first: spots large buyers or sellers. Subscribes the queue.',
  scope: 'qot:read',
  input: z.strictObject({ symbol: hkSymbol }),
  output: z.object({
    symbol: symbolField,
    name: z.string().optional(),
    bids: z.array(brokerShape),
    asks: z.array(brokerShape),
  }),
  annotations: READ_TOOL_ANNOTATIONS,
  summarize: (r) => `${r.symbol} broker queue: bid ${topNames(r.bids)}; ask ${topNames(r.asks)} (${r.bids.length}/${r.asks.length} entries)`,
  authz: async (args) => callPlan('futu_get_broker', args),
  execute: async (args, ctx) => {
    const queue = await ctx.gateway.getBrokerQueue(args.symbol, { holder: ctx.keyId });
    return { symbol: queue.symbol, name: queue.name, bids: queue.bids.map(brokerOf), asks: queue.asks.map(brokerOf) };
  },
});

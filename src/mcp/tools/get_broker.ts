import { z } from 'zod';
import type { BrokerEntry } from '../../gateway/types.js';
import { READ_TOOL_ANNOTATIONS } from '../tool.js';
import { hkSymbol } from './args.js';
import { defineTool } from './kit.js';
import { symbolField } from './outputs.js';
import { callPlan } from './plans.js';

const brokerShape = z.object({
  broker_id: z.string().describe('Broker id (decimal string)'),
  broker_name: z.string(),
  level: z.number().describe('Price level the broker queues at, counted from the best price (lower = better)'),
});

const brokerOf = (b: BrokerEntry): z.input<typeof brokerShape> => ({ broker_id: b.id, broker_name: b.name, level: b.position });

const topNames = (entries: readonly { broker_name: string }[]) =>
  entries.length === 0 ? 'none' : [...new Set(entries.slice(0, 3).map((e) => e.broker_name))].join(', ');

export const getBroker = defineTool({
  name: 'futu_get_broker',
  title: 'Broker queue (HK)',
  description:
    'Which brokers are queued on the bid and ask side of one HK security (HK only, e.g. HK.00700; no account needed), ' +
    'best price level first. Useful to spot large institutional buyers or sellers. Subscribes the broker queue on first use.',
  scope: 'qot:read',
  input: z.strictObject({ symbol: hkSymbol }),
  output: z.object({
    symbol: symbolField,
    name: z.string().optional(),
    bids: z.array(brokerShape).describe('Brokers on the bid side, best level first'),
    asks: z.array(brokerShape).describe('Brokers on the ask side, best level first'),
  }),
  annotations: READ_TOOL_ANNOTATIONS,
  summarize: (r) => `${r.symbol} broker queue: bid ${topNames(r.bids)}; ask ${topNames(r.asks)} (${r.bids.length}/${r.asks.length} entries)`,
  authz: async (args) => callPlan('futu_get_broker', args),
  execute: async (args, ctx) => {
    const queue = await ctx.gateway.getBrokerQueue(args.symbol, { holder: ctx.keyId });
    return { symbol: queue.symbol, name: queue.name, bids: queue.bids.map(brokerOf), asks: queue.asks.map(brokerOf) };
  },
});

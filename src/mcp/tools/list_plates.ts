import { z } from 'zod';
import type { PlateSetTypeName } from '../../gateway/types.js';
import { READ_TOOL_ANNOTATIONS } from '../tool.js';
import { market, plateType, PLATE_TYPES } from './args.js';
import { joinFirst, plural } from './format.js';
import { defineTool } from './kit.js';
import { callPlan } from './plans.js';

const PLATE_SET: Record<(typeof PLATE_TYPES)[number], PlateSetTypeName> = { all: 'ALL', industry: 'INDUSTRY', region: 'REGION', concept: 'CONCEPT' };

export const listPlates = defineTool({
  name: 'futu_list_plates',
  title: 'List plates (sectors)',
  description:
    'Plates (sectors, regions, concepts, index lists) of a market; SH and SZ share the A-share plates. ' +
    'Pass a plate code (e.g. HK.BK1910) to futu_plate_stocks for its members.',
  scope: 'qot:read',
  input: z.strictObject({
    market,
    plate_type: plateType,
    name_contains: z.string().min(1).max(64).optional().describe('Name filter, case-insensitive, e.g. "bank"'),
  }),
  output: z.object({
    market: z.string(),
    plate_type: z.enum(PLATE_TYPES),
    plates: z.array(
      z.object({
        plate: z.string(),
        name: z.string(),
      }),
    ),
  }),
  annotations: READ_TOOL_ANNOTATIONS,
  summarize: (r) => `${r.market} ${r.plate_type}: ${plural(r.plates.length, 'plate')}${r.plates.length ? ` — ${joinFirst(r.plates.map((p) => `${p.plate} ${p.name}`), 5)}` : ''}`,
  authz: async (args) => callPlan('futu_list_plates', args),
  execute: async (args, ctx) => {
    const needle = args.name_contains?.toLowerCase();
    const plates = await ctx.gateway.getPlateSet(args.market, PLATE_SET[args.plate_type]);
    return {
      market: args.market,
      plate_type: args.plate_type,
      plates: plates.filter((p) => needle === undefined || p.name.toLowerCase().includes(needle)).map((p) => ({ plate: p.symbol, name: p.name })),
    };
  },
});

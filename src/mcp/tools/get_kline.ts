import { z } from 'zod';
import { KL_TYPE } from '../../gateway/enums.js';
import { GatewayError } from '../../gateway/errors.js';
import { parseSymbol, type MarketCode } from '../../gateway/symbol.js';
import type { KLine, KLineSeries, KLTypeName, RehabName } from '../../gateway/types.js';
import { READ_TOOL_ANNOTATIONS } from '../tool.js';
import { dateTime, klType, KL_TYPES, rehab, REHABS, symbol, type KlTypeName } from './args.js';
import { csvTable, formatPrice, plural, quoteCurrency } from './format.js';
import { defineTool, type ToolContext } from './kit.js';
import { symbolField } from './outputs.js';
import { callPlan } from './plans.js';

const MAX_BARS = 1000;
const LATEST_DEFAULT = 100;

const EXCHANGE_TIME_ZONE: Record<MarketCode, string> = { HK: 'Asia/Hong_Kong', US: 'America/New_York', SH: 'Asia/Shanghai', SZ: 'Asia/Shanghai' };

type Rehab = (typeof REHABS)[number];
const REHAB_NAMES: Record<Rehab, RehabName> = { forward: 'FORWARD', backward: 'BACKWARD', none: 'NONE' };

/** Columns of a bar, in the order each bar lists them (a row per bar keeps 1,000 bars affordable). */
const BAR_COLUMNS = ['time', 'open', 'high', 'low', 'close', 'volume'] as const;

const barShape = z
  .tuple([z.string(), z.number(), z.number(), z.number(), z.number(), z.number()])
  .describe('[time, open, high, low, close, volume]');

/** Bars without trades carry only a time; they are left out rather than reported as zeros. */
function barOf(k: KLine, daily: boolean): z.input<typeof barShape> | undefined {
  if (k.isBlank || k.close === undefined) return undefined;
  return [daily ? k.time.slice(0, 10) : k.time.slice(0, 16), k.open ?? k.close, k.high ?? k.close, k.low ?? k.close, k.close, k.volume ?? 0];
}

function gatewayKlType(name: KlTypeName): KLTypeName {
  const futuName = KL_TYPE.name(KL_TYPES[name]);
  if (futuName === 'UNKNOWN') throw new GatewayError('INVALID_ARGUMENT', `unsupported kl_type ${name}`);
  return futuName;
}

const DAILY_OR_LONGER: ReadonlySet<KLTypeName> = new Set(['K_DAY', 'K_WEEK', 'K_MON', 'K_QUARTER', 'K_YEAR']);

/** OpenD wants seconds; the argument may stop at minutes. */
function fullTime(value: string): string {
  return /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}$/.test(value) ? `${value}:00` : value;
}

function exchangeToday(market: MarketCode): string {
  return new Intl.DateTimeFormat('en-CA', { timeZone: EXCHANGE_TIME_ZONE[market], year: 'numeric', month: '2-digit', day: '2-digit' }).format(new Date());
}

export const getKline = defineTool({
  name: 'futu_get_kline',
  title: 'K-lines (candles)',
  description:
    'OHLCV candles of one security, oldest first. Without begin: the latest num bars. With begin (end: default today): bars from begin, ' +
    'at most num; truncated=true means continue after the last bar.',
  scope: 'qot:read',
  input: z
    .strictObject({
      symbol,
      kl_type: klType,
      num: z.number().int().min(1).max(MAX_BARS).optional().describe(`Bars (default ${LATEST_DEFAULT}; ${MAX_BARS} with begin)`),
      begin: dateTime('begin').optional(),
      end: dateTime('end').optional(),
      rehab,
    })
    .refine((a) => a.end === undefined || a.begin !== undefined, { path: ['end'], message: 'end needs begin: give begin (and optionally end) for a date range' }),
  output: z.object({
    symbol: symbolField,
    name: z.string().optional(),
    kl_type: z.string(),
    rehab: z.enum(REHABS),
    currency: z.string(),
    columns: z.array(z.string()),
    bars: z.array(barShape),
    truncated: z.boolean(),
  }),
  annotations: READ_TOOL_ANNOTATIONS,
  summarize: (r) => {
    const first = r.bars[0];
    const last = r.bars.at(-1);
    if (!first || !last) return `${r.symbol} ${r.kl_type}: no bars`;
    const range = `${first[0]} … ${last[0]}`;
    return `${r.symbol} ${r.kl_type} (${r.rehab}-adjusted ${r.currency}): ${plural(r.bars.length, 'bar')} ${range}, last close ${formatPrice(last[4])}${r.truncated ? ' (truncated: more bars in range)' : ''}`;
  },
  render: (r) => csvTable(r.columns, r.bars),
  authz: async (args) => callPlan('futu_get_kline', args),
  execute: async (args, ctx) => {
    const { series, truncated } = await fetchBars(args, ctx);
    const daily = DAILY_OR_LONGER.has(gatewayKlType(args.kl_type));
    return {
      symbol: series.symbol,
      name: series.name,
      kl_type: args.kl_type,
      rehab: args.rehab,
      currency: quoteCurrency(args.symbol),
      columns: [...BAR_COLUMNS],
      bars: series.klines.flatMap((k) => {
        const bar = barOf(k, daily);
        return bar ? [bar] : [];
      }),
      truncated,
    };
  },
});

interface BarQuery {
  readonly symbol: string;
  readonly kl_type: KlTypeName;
  readonly num?: number;
  readonly begin?: string;
  readonly end?: string;
  readonly rehab: Rehab;
}

async function fetchBars(args: BarQuery, ctx: ToolContext): Promise<{ series: KLineSeries; truncated: boolean }> {
  const klType = gatewayKlType(args.kl_type);
  const rehab = REHAB_NAMES[args.rehab];
  if (args.begin === undefined) {
    return { series: await ctx.gateway.getKLines(args.symbol, klType, args.num ?? LATEST_DEFAULT, rehab, { holder: ctx.keyId }), truncated: false };
  }
  const num = args.num ?? MAX_BARS;
  const end = args.end ?? exchangeToday(parseSymbol(args.symbol).market);
  // One bar more than asked tells whether the range holds more.
  const series = await ctx.gateway.requestHistoryKLines({
    symbol: args.symbol, klType, begin: fullTime(args.begin), end: fullTime(end), maxCount: num + 1, rehab,
  });
  const truncated = series.klines.length > num;
  return { series: { ...series, klines: series.klines.slice(0, num) }, truncated };
}

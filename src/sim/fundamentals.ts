import { MARKETS } from '../gateway/symbol.js';
import { DAY_MS, tradingDayOnOrBefore, utcOffsetMs } from './calendar.js';
import type { Listing } from './catalog.js';
import { PricePath, roundMoney } from './pricePath.js';
import { Rng } from './prng.js';

/**
 * Seeded company data for every catalogue security: statements whose lines add up (each derived
 * line is computed from the rounded lines it sums, and quarters add up to their year), anchored on
 * the catalogue's figures so they agree with the snapshot: the latest fiscal year's net income is
 * EPS × shares and its equity is book value per share × shares, so valuation = price / those.
 */
export const STATEMENT = { Income: 1, BalanceSheet: 2, CashFlow: 3 } as const;
export const F10 = { Q1: 1, Q2: 2, Q3: 3, Q4: 4, Annual: 7, Quarterly: 9, QuarterlyAnnual: 10 } as const;

/** Statement lines: fieldId → name. The ids are this simulator's; OpenD sends its own with names. */
export const STATEMENT_LINES: Record<number, readonly (readonly [number, string])[]> = {
  [STATEMENT.Income]: [
    [101, 'Revenue'], [102, 'Cost of revenue'], [103, 'Gross profit'], [104, 'Operating expenses'], [105, 'Operating income'],
    [106, 'Other income'], [107, 'Pretax income'], [108, 'Income tax'], [109, 'Net income'], [110, 'Diluted EPS'],
  ],
  [STATEMENT.BalanceSheet]: [
    [201, 'Cash and equivalents'], [202, 'Other current assets'], [203, 'Total current assets'], [204, 'Non-current assets'], [205, 'Total assets'],
    [206, 'Current liabilities'], [207, 'Non-current liabilities'], [208, 'Total liabilities'], [209, "Shareholders' equity"], [210, 'Total liabilities and equity'],
  ],
  [STATEMENT.CashFlow]: [
    [301, 'Operating cash flow'], [302, 'Capital expenditure'], [303, 'Other investing'], [304, 'Investing cash flow'], [305, 'Financing cash flow'],
    [306, 'Net change in cash'], [307, 'Free cash flow'],
  ],
};

/** The company's seeded shape: margins, growth and leverage. */
interface Profile {
  readonly netMargin: number;
  readonly grossMargin: number;
  readonly taxRate: number;
  readonly growth: number;
  readonly leverage: number;
  readonly quarterWeights: readonly number[];
}

function profileOf(listing: Listing, seed: number): Profile {
  const rng = Rng.of(seed, 'fundamentals', listing.symbol);
  const netMargin = 0.08 + rng.next() * 0.27;
  const weights = [0, 1, 2, 3].map(() => 0.85 + rng.next() * 0.3);
  const total = weights.reduce((a, b) => a + b, 0);
  return {
    netMargin,
    grossMargin: Math.min(0.9, netMargin * 1.4 + 0.15 + rng.next() * 0.1),
    taxRate: 0.15 + rng.next() * 0.1,
    growth: 0.03 + rng.next() * 0.17,
    leverage: listing.sector === 'Banks' ? 8 + rng.next() * 4 : 0.3 + rng.next() * 1.5,
    quarterWeights: weights.map((w) => w / total),
  };
}

export interface Report {
  readonly fiscalYear: number;
  /** F10.Annual, or the quarter F10.Q1..Q4. */
  readonly type: number;
  readonly periodText: string;
  /** Period end, yyyy-MM-dd. */
  readonly endDate: string;
  readonly lines: ReadonlyMap<number, number>;
}

const ANNUAL_YEARS = 5;
const QUARTER_YEARS = 2;
const QUARTER_END = ['03-31', '06-30', '09-30', '12-31'];

/** The last reported fiscal year (calendar years) as of `nowMs`: annual reports come two months after the year end. */
export function latestFiscalYear(nowMs: number): number {
  const d = new Date(nowMs - 60 * DAY_MS);
  return d.getUTCFullYear() - 1;
}

/** Flow lines of one fiscal year, all integers; `scale` splits a year into a quarter. */
function flows(listing: Listing, p: Profile, yearsBack: number, scale: number): { income: number[]; cash: number[] } {
  const netIncomeLatest = listing.earningsPerShare * listing.sharesOutstanding;
  const netIncome = Math.round((netIncomeLatest / (1 + p.growth) ** yearsBack) * scale);
  const tax = Math.round((netIncome / (1 - p.taxRate)) * p.taxRate);
  const pretax = netIncome + tax;
  const other = Math.round(pretax * 0.05);
  const operating = pretax - other;
  const revenueEstimate = netIncome / p.netMargin;
  const opex = Math.max(0, Math.round(revenueEstimate * p.grossMargin) - operating);
  const gross = operating + opex;
  const cost = Math.round(revenueEstimate * (1 - p.grossMargin));
  const revenue = gross + cost;
  const eps = roundMoney(netIncome / listing.sharesOutstanding);
  const ocf = Math.round(netIncome * 1.2);
  const capex = -Math.round(revenue * 0.06);
  const otherInvesting = -Math.round(revenue * 0.02);
  const investing = capex + otherInvesting;
  const financing = -Math.round(listing.dividendPerShare * listing.sharesOutstanding * scale + netIncome * 0.1);
  return {
    income: [revenue, cost, gross, opex, operating, other, pretax, tax, netIncome, eps],
    cash: [ocf, capex, otherInvesting, investing, financing, ocf + investing + financing, ocf + capex],
  };
}

/** Balance sheet at a period end, `yearsBack` (fractional for quarters) before the latest year end. */
function balance(listing: Listing, p: Profile, yearsBack: number): number[] {
  const equity = Math.round((listing.bookValuePerShare * listing.sharesOutstanding) / (1 + p.growth * 0.6) ** yearsBack);
  const liabilities = Math.round(equity * p.leverage);
  const assets = equity + liabilities;
  const currentAssets = Math.round(assets * 0.35);
  const cash = Math.round(currentAssets * 0.4);
  const currentLiabilities = Math.round(liabilities * 0.45);
  return [cash, currentAssets - cash, currentAssets, assets - currentAssets, assets, currentLiabilities, liabilities - currentLiabilities, liabilities, equity, liabilities + equity];
}

function linesOf(statement: number, values: readonly number[]): Map<number, number> {
  const ids = STATEMENT_LINES[statement]!;
  return new Map(ids.map(([id], i) => [id, values[i]!]));
}

/** Annual and quarterly reports of one statement, newest first. */
export function reportsOf(listing: Listing, seed: number, statement: number, nowMs: number): { annual: Report[]; quarterly: Report[] } {
  const p = profileOf(listing, seed);
  const latest = latestFiscalYear(nowMs);
  const pick = (yearsBack: number, scale: number, balanceBack: number): number[] => {
    if (statement === STATEMENT.BalanceSheet) return balance(listing, p, balanceBack);
    const f = flows(listing, p, yearsBack, scale);
    return statement === STATEMENT.Income ? f.income : f.cash;
  };
  const annual: Report[] = [];
  for (let back = 0; back < ANNUAL_YEARS; back++) {
    const year = latest - back;
    annual.push({ fiscalYear: year, type: F10.Annual, periodText: `${year}/FY`, endDate: `${year}-12-31`, lines: linesOf(statement, pick(back, 1, back)) });
  }
  const quarterly: Report[] = [];
  for (let back = 0; back < QUARTER_YEARS; back++) {
    const year = latest - back;
    const yearly = pick(back, 1, back);
    const quarters: number[][] = [];
    for (let q = 0; q < 4; q++) {
      if (statement === STATEMENT.BalanceSheet) quarters.push(balance(listing, p, back + (3 - q) / 4));
      else if (q < 3) quarters.push(pick(back, p.quarterWeights[q]!, 0));
      else {
        // The fourth quarter is the year less the first three, so every line sums to the year exactly.
        quarters.push(yearly.map((v, i) => (i === 9 && statement === STATEMENT.Income ? 0 : v - quarters[0]![i]! - quarters[1]![i]! - quarters[2]![i]!)));
        if (statement === STATEMENT.Income) quarters[3]![9] = roundMoney(quarters[3]![8]! / listing.sharesOutstanding);
      }
    }
    for (let q = 3; q >= 0; q--) {
      quarterly.push({ fiscalYear: year, type: F10.Q1 + q, periodText: `${year}/Q${q + 1}`, endDate: `${year}-${QUARTER_END[q]}`, lines: linesOf(statement, quarters[q]!) });
    }
  }
  return { annual, quarterly };
}

/** Revenue per share of the latest fiscal year, for P/S. */
export function revenuePerShare(listing: Listing, seed: number): number {
  const p = profileOf(listing, seed);
  return flows(listing, p, 0, 1).income[0]! / listing.sharesOutstanding;
}

export function growthOf(listing: Listing, seed: number): number {
  return profileOf(listing, seed).growth;
}

export const VALUATION = { PE: 1, PB: 2, PS: 3 } as const;
/** ValuationIntervalType → months of history. */
export const VALUATION_MONTHS: Record<number, number> = { 1: 3, 2: 6, 3: 12, 4: 36, 6: 60, 8: 24 };

export interface ValuationPoint {
  readonly date: string;
  readonly value: number;
}

/** Month-end values of price / per-share figure over the last `months`, oldest first. */
export function valuationHistory(path: PricePath, perShare: number, nowMs: number, months: number): ValuationPoint[] {
  const listing = path.listing;
  const today = Math.floor((nowMs + utcOffsetMs(listing.market)) / DAY_MS);
  const points: ValuationPoint[] = [];
  const now = new Date(today * DAY_MS);
  for (let m = months; m >= 1; m--) {
    const monthEnd = Math.floor(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() - m + 1, 0) / DAY_MS);
    const day = tradingDayOnOrBefore(monthEnd);
    if (day < path.firstDay) continue;
    points.push({ date: new Date(day * DAY_MS).toISOString().slice(0, 10), value: roundMoney(path.closeOfDay(day) / perShare) });
  }
  return points;
}

export function currencyOf(listing: Listing): string {
  return listing.market === 'SH' || listing.market === 'SZ' ? 'CNY' : MARKETS[listing.market].currency;
}

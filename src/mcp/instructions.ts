/**
 * The server's `instructions` (sent in the initialize result): the rules that hold across tools,
 * said once here instead of in every tool's description.
 */
export function serverInstructions(toolNames: readonly string[]): string {
  const has = (name: string) => toolNames.includes(name);
  return [
    'Futu OpenD market data, accounts and trading; every call is authorized against your API key and audited.',
    'Symbols are MARKET.CODE: HK.00700, US.AAPL, SH.600519, SZ.000001 (any case; HK codes may drop leading zeros).',
    'Prices are in the security\'s currency, volumes in shares, change/turnover rates, ratios and yields in percent, times exchange-local.',
    'Account reads (funds, positions, orders, deals and their history) cover every account this key may use, real first, each row labelled ' +
      'acc_id/env/trd_market: call them without arguments, and pass env, market or acc_id only to narrow.',
    'Fundamentals (P/E, P/B, EPS, NAV per share, net profit, dividends, market cap) are in futu_get_snapshot; candles in futu_get_kline.',
    'Series (candles, ticks, minutes, order book, history) come as a header row plus one line per item.',
    'Trading: env "simulate" (paper) is the default; "real" moves real money, so use it only when the user asks: it needs the trade:real scope ' +
      'and an unlocked OpenD (futu_unlock_trade). Per-key limits (markets, symbols, sides, per-order value, daily value, orders per minute) ' +
      'are enforced and a refusal names the limit. Sells and MARKET orders are valued at no less than the quote + 5%; ' +
      'selling more than the account holds is a short (SELL_SHORT).',
    ...(has('futu_get_limits') ? ['futu_get_limits shows this key\'s limits and what today has used of them.'] : []),
    'CONFIRMATION_REQUIRED: ask the user to approve the confirmation_id given, then repeat the same call with it.',
    'Tools this key may not call are not listed.',
  ].join('\n');
}

/**
 * The API key model shared by the key store (src/keys), the Cedar request builder (src/authz) and
 * the MCP pipeline. A loaded record is immutable; `null` for a limit means "no limit".
 */
export const SCOPES = ['qot:read', 'acc:read', 'trade:simulate', 'trade:real', 'trade:unlock'] as const;
export type Scope = (typeof SCOPES)[number];

export const TRD_SIDES = ['BUY', 'SELL', 'SELL_SHORT', 'BUY_BACK'] as const;
export type TrdSide = (typeof TRD_SIDES)[number];

export const LIMIT_CURRENCIES = ['HKD', 'USD', 'CNH'] as const;
export type LimitCurrency = (typeof LIMIT_CURRENCIES)[number];

export interface KeyLimits {
  readonly allowed_markets: readonly string[] | null;
  readonly allowed_symbols: readonly string[] | null;
  readonly allowed_trd_sides: readonly TrdSide[] | null;
  /** 64-bit account ids as decimal strings. */
  readonly allowed_acc_ids: readonly string[] | null;
  /** Major units of `limit_currency` (e.g. 50000 = HKD 50,000). */
  readonly max_order_value: number | null;
  readonly max_daily_value: number | null;
  readonly max_orders_per_minute: number | null;
  /** "HH:MM-HH:MM" in the server's local time zone; may cross midnight. */
  readonly hours_window: string | null;
  /** Currency of the money limits; HKD when the file does not say. */
  readonly limit_currency: LimitCurrency;
  /** May modify and cancel orders it did not place (a human's, another key's); false when absent. */
  readonly manage_any_order: boolean;
  /** Cancels and lowering modifies in a 60 s window; null = DEFAULT_CANCELS_PER_MINUTE. */
  readonly max_cancels_per_minute: number | null;
  /** Tool calls of every kind (reads too) in a 60 s window; null = DEFAULT_CALLS_PER_MINUTE. */
  readonly max_calls_per_minute: number | null;
}

/**
 * Cancels are never held back by the order rate limit (withdrawing an order reduces risk), but
 * they still reach OpenD: this separate, generous cap keeps them from being used to flood it.
 */
export const DEFAULT_CANCELS_PER_MINUTE = 30;

/**
 * Every key's calls are capped, so one key (a leaked one, a looping agent) cannot fill the audit
 * disk or take the server's time from the others. Ten a second, sustained for a minute, is far
 * beyond what an LLM client makes; a key that needs more says so in keys.json.
 */
export const DEFAULT_CALLS_PER_MINUTE = 600;

/** Every limit off, in the default currency: the base that demo, test and bench keys spread over. */
export const NO_LIMITS: KeyLimits = Object.freeze({
  allowed_markets: null,
  allowed_symbols: null,
  allowed_trd_sides: null,
  allowed_acc_ids: null,
  max_order_value: null,
  max_daily_value: null,
  max_orders_per_minute: null,
  hours_window: null,
  limit_currency: 'HKD',
  manage_any_order: false,
  max_cancels_per_minute: null,
  max_calls_per_minute: null,
});

/**
 * When a human must confirm a call of the key (see policies/confirmation.cedar): never; every
 * real-env order, modify and unlock; every order in either env; or orders worth more than
 * `above_value` (major units of limit_currency). Cancels and lowering modifies of the key's own
 * orders never need it.
 */
export type RequireConfirmation = 'never' | 'real' | 'always' | { readonly above_value: number };

/**
 * How the human is asked: `auto` uses the client's elicitation form when it offers one, else the
 * out-of-band channel; `out_of_band` always uses futucli approve or the approval page (for
 * clients that cannot be trusted to show the form to a person).
 */
export const CONFIRMATION_CHANNELS = ['auto', 'out_of_band'] as const;
export type ConfirmationChannel = (typeof CONFIRMATION_CHANNELS)[number];

export interface KeyRecord {
  readonly id: string;
  /** Lowercase hex SHA-256 of the plaintext key (a `sha256:` prefix in the file is stripped). */
  readonly hash: string;
  readonly scopes: readonly Scope[];
  readonly limits: KeyLimits;
  /** null = not bound; [] = frozen (no machine allowed); otherwise allowed fingerprints. */
  readonly allowed_machines: readonly string[] | null;
  readonly created_at: string | null;
  readonly expires_at: string | null;
  readonly note: string | null;
  /** null or absent: "real" for a key holding trade:real or trade:unlock, "never" otherwise (requireConfirmationOf). */
  readonly require_confirmation?: RequireConfirmation | null;
  /** null or absent: auto. */
  readonly confirmation_channel?: ConfirmationChannel | null;
}

/** The key's confirmation rule, with the default for keys that do not set one. */
export function requireConfirmationOf(key: Pick<KeyRecord, 'scopes' | 'require_confirmation'>): RequireConfirmation {
  if (key.require_confirmation != null) return key.require_confirmation;
  return key.scopes.includes('trade:real') || key.scopes.includes('trade:unlock') ? 'real' : 'never';
}

/** "never", "real", "always" or the above_value threshold as a number, as flags and listings show it. */
export function describeRequireConfirmation(rule: RequireConfirmation): string {
  return typeof rule === 'string' ? rule : `above ${rule.above_value}`;
}

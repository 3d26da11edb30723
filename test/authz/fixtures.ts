import { spawnSync } from 'node:child_process';
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { TestContext } from 'node:test';
import { FileTradeState } from '../../src/authz/fileTradeState.js';
import { Authorizer } from '../../src/authz/authorizer.js';
import { buildTradeRequest, type AuthzRequest, type Caller } from '../../src/authz/builder.js';
import { AuthzEngine } from '../../src/authz/engine.js';
import { PolicyLoadError } from '../../src/authz/errors.js';
import { LimitsLedger } from '../../src/authz/ledger.js';
import { defaultPolicyPaths, type PolicyPaths } from '../../src/authz/policySet.js';
import type { ReferencePriceSource } from '../../src/authz/valuation.js';
import { NO_LIMITS, type KeyLimits, type KeyRecord } from '../../src/keys/types.js';
import { setLogSink } from '../../src/shared/log.js';

// Load/deny/ledger paths log on purpose; the tests assert behaviour, not log lines.
setLogSink(() => {});

let keyCount = 0;

/** A key record; every limit off unless given. Each call is a distinct key id (fresh ledger). */
export function makeKey(fields: Partial<Omit<KeyRecord, 'limits'>> & { limits?: Partial<KeyLimits> } = {}): KeyRecord {
  keyCount += 1;
  return {
    id: `test-key-${process.pid}-${keyCount}`,
    hash: keyCount.toString(16).padStart(64, '0'),
    scopes: ['qot:read', 'acc:read', 'trade:simulate'],
    allowed_machines: null,
    created_at: null,
    expires_at: null,
    note: null,
    ...fields,
    limits: { ...NO_LIMITS, ...fields.limits },
  };
}

/** The seed's sim-bot: HK/US, HKD 50,000 per order, 3 orders per minute. */
export function simBot(limits: Partial<KeyLimits> = {}): KeyRecord {
  return makeKey({
    scopes: ['qot:read', 'acc:read', 'trade:simulate'],
    limits: { allowed_markets: ['HK', 'US'], max_order_value: 50_000, max_orders_per_minute: 3, ...limits },
  });
}

/** A weekday at 10:00 local time: inside a 09:30-16:00 window. */
export const MORNING = new Date(2026, 4, 4, 10, 0, 0);

export function caller(key: KeyRecord, now = MORNING, machineBound = true, withinCallRate = true): Caller {
  return { key, now, machineBound, withinCallRate };
}

/** The Cedar request of a simulate BUY of HK.00700 worth `orderValue` minor units, nothing used yet today. */
export function placeOrderRequest(orderValue: number, key = simBot()): AuthzRequest {
  return buildTradeRequest(caller(key), {
    action: 'futu_place_order',
    env: 'simulate',
    account: '1001',
    symbol: 'HK.00700',
    side: 'BUY',
    valuation: { orderValue, addedValue: orderValue },
    usage: { ordersBefore: 0, cancelsBefore: 0, dailyValue: 0 },
    ownOrder: true,
    reducesRisk: false,
  });
}

let shipped: AuthzEngine | undefined;

/** The shipped policy set, loaded once per test file. */
export function shippedEngine(): AuthzEngine {
  shipped ??= AuthzEngine.load(defaultPolicyPaths());
  return shipped;
}

export function tempDir(t: TestContext, prefix = 'futu-authz-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** A writable copy of the shipped policies and schema, optionally without the tests. */
export function copyPolicies(t: TestContext, options: { tests: boolean } = { tests: true }): PolicyPaths {
  const dir = tempDir(t, 'futu-policies-');
  const shippedPaths = defaultPolicyPaths();
  cpSync(shippedPaths.policiesDir, join(dir, 'policies'), {
    recursive: true,
    filter: (src) => options.tests || !src.includes(`${join(shippedPaths.policiesDir, 'tests')}`),
  });
  cpSync(shippedPaths.schemaFile, join(dir, 'futu.cedarschema'));
  return { policiesDir: join(dir, 'policies'), schemaFile: join(dir, 'futu.cedarschema') };
}

export function fixedPrices(quote: { bid?: number; ask?: number; last?: number }): ReferencePriceSource {
  return { bestPrices: async () => quote };
}

export function authorizer(t: TestContext, extra: { prices?: ReferencePriceSource; stateDir?: string } = {}): { authz: Authorizer; ledger: LimitsLedger; trades: FileTradeState } {
  const stateDir = extra.stateDir ?? tempDir(t, 'futu-ledger-');
  const ledger = new LimitsLedger({ stateDir });
  const trades = new FileTradeState({ stateDir });
  const authz = new Authorizer({ engine: shippedEngine(), ledger, trades, ...(extra.prices ? { prices: extra.prices } : {}) });
  return { authz, ledger, trades };
}

/** The load of `paths` must be refused; returns the refusal. */
export function loadFails(paths: PolicyPaths): PolicyLoadError {
  try {
    AuthzEngine.load(paths);
  } catch (err) {
    assert.ok(err instanceof PolicyLoadError, String(err));
    assert.equal(err.code, 'POLICY_LOAD_FAILED');
    return err;
  }
  assert.fail('load should have been refused');
}

const POLICY_CLI_HOST = join(dirname(fileURLToPath(import.meta.url)), 'policyCliHost.js');

/** `futucli policy …` (the policy commands' host) as a child process, log lines off. */
export function policyCli(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const env = { ...process.env };
  delete env.FUTU_LOG_LEVEL;
  const run = spawnSync(process.execPath, [POLICY_CLI_HOST, ...args], { encoding: 'utf8', env });
  return { status: run.status, stdout: run.stdout, stderr: run.stderr };
}

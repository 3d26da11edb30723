/**
 * A child process for the cross-process ledger tests: the same key, the same state directory,
 * real Authorizer + LimitsLedger. Not a test file itself.
 *   argv[2] = JSON { stateDir, key, orders, qty, price, mode: "race" | "hold" | "stream" }
 *   race: prints "ready", waits for a line on stdin (so all workers start together), places
 *         `orders` overlapping orders (each after a random 0-50 ms delay, so batches of the
 *         processes interleave), commits the allowed ones, prints a summary line.
 *   hold: commits `orders` orders one by one, then reserves one more, prints "held" and waits
 *         to be killed with the reservation in flight.
 *   stream: `orders` traders place and commit orders back to back, printing "c" after each
 *         commit, until killed.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { Authorizer } from '../../src/authz/authorizer.js';
import { AuthzEngine } from '../../src/authz/engine.js';
import { LimitsLedger } from '../../src/authz/ledger.js';
import { defaultPolicyPaths } from '../../src/authz/policySet.js';
import type { KeyRecord } from '../../src/keys/types.js';
import { setLogSink } from '../../src/shared/log.js';

setLogSink(() => {});

interface Job {
  stateDir: string;
  key: KeyRecord;
  orders: number;
  qty: number;
  price: number;
  mode: 'race' | 'hold' | 'stream';
}

const job = JSON.parse(process.argv[2]!) as Job;
const ledger = new LimitsLedger({ stateDir: job.stateDir, lockTimeoutMs: 60_000 });
const authz = new Authorizer({ engine: AuthzEngine.load(defaultPolicyPaths()), ledger });

const order = () =>
  authz.authorizeTrade({
    key: job.key,
    withinCallRate: true,
    now: new Date(),
    machineBound: true,
    env: 'simulate',
    account: '1001',
    terms: { action: 'futu_place_order', symbol: 'HK.00700', side: 'BUY', orderType: 'LIMIT', qty: job.qty, price: job.price },
  });

if (job.mode === 'race') {
  process.stdout.write('ready\n');
  await new Promise((resolve) => process.stdin.once('data', resolve));
  process.stdin.destroy();
  const results = await Promise.all(
    Array.from({ length: job.orders }, async () => {
      await sleep(Math.random() * 50);
      const { decision, reservation } = await order();
      if (reservation) await ledger.commit(reservation);
      return decision.allowed ? 'ALLOW' : decision.code;
    }),
  );
  const counts: Record<string, number> = {};
  for (const r of results) counts[r] = (counts[r] ?? 0) + 1;
  process.stdout.write(`${JSON.stringify(counts)}\n`);
} else if (job.mode === 'stream') {
  const trader = async () => {
    for (;;) {
      const { reservation } = await order();
      if (!reservation) throw new Error('stream mode expects every order to be allowed');
      if (!(await ledger.commit(reservation))) throw new Error('a commit failed');
      process.stdout.write('c\n');
    }
  };
  await Promise.all(Array.from({ length: job.orders }, trader));
} else {
  for (let i = 0; i < job.orders; i++) {
    const { reservation } = await order();
    if (!reservation) throw new Error('hold mode expects every order to be allowed');
    await ledger.commit(reservation);
  }
  const { reservation } = await order();
  if (!reservation) throw new Error('the held order was not allowed');
  process.stdout.write('held\n');
  setInterval(() => {}, 60_000);
}

import { createInterface } from 'node:readline/promises';
import type { Command } from 'commander';
import { describeSummary, haltFor, isConfirmationId, type Confirmation } from '../../authz/humanState.js';
import { AuthzError } from '../../authz/errors.js';
import type { TradeStateStore } from '../../authz/tradeState.js';
import { FutuGateway } from '../../gateway/api.js';
import type { AccountRef, TrdEnvName } from '../../gateway/types.js';
import { FutuError } from '../../shared/errors.js';
import type { StateStores } from '../../authz/stateStores.js';
import { action, type Output } from '../output.js';
import { defaultStateDir } from '../paths.js';
import { addStateStoreOptions, openCliStateStores, type StateStoreFlags } from '../stateOptions.js';
import { parseHostPort } from './gatewayAddress.js';

/**
 * The human's side of the loop, through the same shared state the running servers use (so no
 * signal, no server address): approve / reject a call awaiting confirmation, halt / resume
 * trading. `--state-dir` defaults to futu-mcp's own default; replicas sharing Redis are reached
 * with the same `--redis` options they were started with.
 */
export function registerHumanLoopCommands(program: Command): void {
  const withState = (command: Command) =>
    addStateStoreOptions(command.option('--state-dir <dir>', 'the state directory the servers share (futu-mcp --state-dir), unless --redis is given', defaultStateDir()));

  const answers = [
    ['approve', 'approved', 'approve a call awaiting confirmation (shows it and asks y/N on a terminal)'],
    ['reject', 'rejected', 'reject a call awaiting confirmation (shows it and asks y/N on a terminal)'],
  ] as const;
  for (const [name, verdict, description] of answers) {
    withState(
      program
        .command(name)
        .description(description)
        .argument('<confirmation_id>', 'the id the refused call reported')
        .option('--yes', `${name} without asking (scripts)`),
    ).action(action((command, out) => answer(command, out, verdict)));
  }

  withState(
    program
      .command('halt')
      .description('stop new trading (places, raising modifies, unlock) at once on every server sharing the state; cancels keep working')
      .option('--key <id>', 'halt only this key (default: all keys)')
      .option('--reason <text>', 'shown to the model in every refusal', 'halted by the operator')
      .option('--cancel-open', 'also cancel the open orders keys placed through futu-mcp (needs --gateway)')
      .option('--gateway <host:port>', 'OpenD address (for --cancel-open)', process.env.FUTU_GATEWAY ?? '127.0.0.1:11111')
      .option('--rsa-key <file>', "OpenD's RSA private key (PEM) when OpenD encrypts its protocol"),
  ).action(action(halt));

  withState(
    program
      .command('resume')
      .description('lift a halt (of one key with --key, else the halt of all keys)')
      .option('--key <id>', 'the key whose halt to lift'),
  ).action(action(resume));
}

interface StateOptions extends StateStoreFlags {
  stateDir: string;
}

/** Runs `work` on the state the servers share (Redis with --redis, else the state directory), closed after. */
async function withStores<T>(opts: StateOptions, work: (state: StateStores) => Promise<T>): Promise<T> {
  const state = await openCliStateStores(opts.stateDir, opts);
  try {
    return await work(state);
  } finally {
    await state.close();
  }
}

async function answer(command: Command, out: Output, verdict: 'approved' | 'rejected'): Promise<void> {
  const [id] = command.args as [string];
  const opts = command.opts<StateOptions & { yes?: boolean }>();
  if (!isConfirmationId(id)) throw new FutuError('INVALID_ARGUMENT', `"${id.slice(0, 40)}" is not a confirmation_id (32 hex digits)`);
  await withStores(opts, async ({ trades: store, where }) => {
    const found = await store.getConfirmation(id);
    if (!found) throw new FutuError('CONFIRMATION_INVALID', `no confirmation ${id} in ${where} (is it the servers' one?)`);
    // The servers' clock for confirmations: Redis TIME with --redis.
    const now = await store.now();
    refuseUnlessPending(found, now);
    for (const line of describeSummary(found.summary)) out.notice(line);
    if (!opts.yes) {
      const verb = verdict === 'approved' ? 'Approve' : 'Reject';
      if (!process.stdin.isTTY) throw new FutuError('CONFIRMATION_INVALID', 'stdin is not a terminal: pass --yes to answer without being asked');
      const reply = await ask(`${verb} this call? [y/N] `);
      if (!/^y(es)?$/i.test(reply.trim())) {
        out.result({ confirmation_id: id, answered: false }, () => 'Nothing changed.');
        return;
      }
    }
    const answered = await store.transitionConfirmation(id, 'pending', (c) => ({ ...c, state: verdict, answeredAt: now, answeredBy: 'cli' }));
    if (!answered?.changed) refuseUnlessPending(answered?.current ?? found, now);
    // futucli keeps no audit log: the servers sharing this state write the answer to theirs.
    await store.recordHumanEvent({ kind: verdict, at: now, confirmationId: id, keyId: found.keyId, tool: found.tool, digest: found.digest });
    out.result({ confirmation_id: id, state: verdict, key_id: found.keyId, tool: found.tool }, () =>
      verdict === 'approved'
        ? `Approved. The call may now be repeated once with confirmation_id ${id} (until ${new Date(found.expiresAt).toISOString()}).`
        : 'Rejected. The call will be refused.',
    );
  });
}

function refuseUnlessPending(c: Confirmation, now: number): void {
  if (c.state !== 'pending') throw new FutuError('CONFIRMATION_INVALID', `confirmation ${c.id} was already ${c.state}`);
  if (now >= c.expiresAt) throw new FutuError('CONFIRMATION_INVALID', `confirmation ${c.id} expired at ${new Date(c.expiresAt).toISOString()}: the call must be made again`);
}

async function ask(question: string): Promise<string> {
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    return await rl.question(question);
  } finally {
    rl.close();
  }
}

interface HaltOptions extends StateOptions {
  key?: string;
  reason: string;
  cancelOpen?: boolean;
  gateway: string;
  rsaKey?: string;
}

async function halt(command: Command, out: Output): Promise<void> {
  const opts = command.opts<HaltOptions>();
  const keyId = opts.key ?? null;
  await withStores(opts, async ({ trades: store, where }) => {
    await store.setHalt({ keyId, reason: opts.reason, since: Date.now() });
    const who = keyId === null ? 'all keys' : `key ${keyId}`;
    const cancelled = opts.cancelOpen ? await cancelOpenOrders(store, opts, keyId) : undefined;
    out.result({ halted: keyId ?? '*', reason: opts.reason, ...(cancelled && { cancelled }) }, () =>
      [`Trading halted for ${who}: ${opts.reason}. Servers sharing ${where} refuse new orders from their next decision; cancels still work.`,
        ...(cancelled ? [`Cancelled ${cancelled.length} open order(s) placed through futu-mcp${cancelled.length ? `: ${cancelled.map((c) => c.order_id).join(', ')}` : ''}.`] : [])].join('\n'),
    );
  });
}

async function resume(command: Command, out: Output): Promise<void> {
  const opts = command.opts<StateOptions & { key?: string }>();
  const keyId = opts.key ?? null;
  await withStores(opts, async ({ trades: store }) => {
    const lifted = await store.clearHalt(keyId);
    const stillHalted = keyId !== null && haltFor(await store.halts(), keyId) !== undefined;
    out.result({ resumed: keyId ?? '*', lifted, still_halted: stillHalted }, () => {
      const who = keyId === null ? 'all keys' : `key ${keyId}`;
      const lines = [lifted ? `Halt of ${who} lifted.` : `No halt of ${who} was in force.`];
      if (stillHalted) lines.push('The halt of all keys still applies to it: futucli resume (without --key) lifts that one.');
      return lines.join('\n');
    });
  });
}

const OPEN_STATUSES = new Set(['WAITING_SUBMIT', 'SUBMITTING', 'SUBMITTED', 'FILLED_PART']);

/** Cancels every open order whose owner record says a key (this one, or any) placed it through futu-mcp. */
async function cancelOpenOrders(store: TradeStateStore, opts: HaltOptions, keyId: string | null): Promise<{ order_id: string; acc_id: string; key_id: string }[]> {
  const { host, port } = parseHostPort(opts.gateway);
  const gateway = new FutuGateway({ host, port, rsaPrivateKey: opts.rsaKey });
  const cancelled: { order_id: string; acc_id: string; key_id: string }[] = [];
  try {
    await gateway.connect();
    for (const account of await gateway.getAccounts()) {
      if (account.env !== 'simulate' && account.env !== 'real') continue;
      const market = account.trdMarkets.find((m) => m !== 'UNKNOWN');
      if (!market) continue;
      const ref: AccountRef = { accId: account.accId, env: account.env as TrdEnvName, trdMarket: market };
      for (const order of await gateway.getOrders(ref)) {
        if (!OPEN_STATUSES.has(String(order.status))) continue;
        const owner = await store.ownerOf({ env: ref.env, accId: ref.accId, orderId: order.orderId });
        if (!owner || (keyId !== null && owner.keyId !== keyId)) continue;
        await gateway.modifyOrder(ref, { orderId: order.orderId, op: 'cancel' });
        cancelled.push({ order_id: order.orderId, acc_id: ref.accId, key_id: owner.keyId });
        await store.recordHumanEvent({ kind: 'cancelled', at: Date.now(), keyId: owner.keyId, env: ref.env, accId: ref.accId, orderId: order.orderId });
      }
    }
  } catch (err) {
    if (err instanceof FutuError) throw err;
    throw new AuthzError('STATE_STORE_UNAVAILABLE', `halt is in force, but cancelling open orders failed: ${(err as Error).message}`);
  } finally {
    await gateway.close();
  }
  return cancelled;
}

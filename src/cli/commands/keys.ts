import { installedFutuMcp, stdioClientConfig } from '../clientConfigs.js';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { Option, type Command } from 'commander';
import { keyNotFound, keyNotShown, keyOptionInvalid } from '../../keys/errors.js';
import { appendKeyRecord, readKeysFile, readKeysFileOrEmpty, updateKeysFile } from '../../keys/file.js';
import { MachineIdentity, normalizeFingerprint } from '../../keys/machine.js';
import { generatePlaintextKey, hashPlaintextKey } from '../../keys/material.js';
import { KEY_ID_PATTERN, parseKeyRecord, type RecordIssue } from '../../keys/schema.js';
import { summarizeLimits } from '../../keys/summary.js';
import { isExpired, resolveExpiry } from '../../keys/time.js';
import { describeRequireConfirmation, requireConfirmationOf, type KeyRecord, type RequireConfirmation } from '../../keys/types.js';
import { describeError } from '../../shared/errors.js';
import { action, formatTable, splitList, type Output } from '../output.js';
import { defaultAuditLog, defaultKeysFile } from '../paths.js';

/**
 * Key management: gen-key, list-keys, revoke-key, bind-key, machine-id. Every change goes
 * through updateKeysFile (locked, atomic, 0600); a running server notices the file change and
 * reloads (SIGHUP forces it).
 */
export function registerKeysCommands(program: Command): void {
  program
    .command('gen-key')
    .description('create an API key; the plaintext is printed once and only its SHA-256 is stored')
    .requiredOption('--id <id>', 'key id (appears in audit records)')
    .requiredOption('--scopes <list>', 'qot:read,acc:read,trade:simulate,trade:real,trade:unlock')
    .option('--allowed-markets <list>', 'markets orders may target: HK,US,SH,SZ (CN/HKCC = SH,SZ)')
    .option('--allowed-symbols <list>', 'symbols orders may target, e.g. HK.00700,US.AAPL')
    .option('--allowed-trd-sides <list>', 'BUY,SELL,SELL_SHORT,BUY_BACK')
    .option('--allowed-acc-ids <list>', 'trading account ids')
    .option('--max-order-value <n>', 'per-order value cap (qty × price) in --limit-currency')
    .option('--max-daily-value <n>', 'accepted order value per UTC day in --limit-currency')
    .option('--max-orders-per-minute <n>', 'orders per 60 s sliding window')
    .option('--hours-window <HH:MM-HH:MM>', 'trading hours in the server time zone (may cross midnight)')
    .option('--manage-any-order', 'may modify and cancel orders it did not place (a human\'s, another key\'s)')
    .option('--max-cancels-per-minute <n>', 'cancels and lowering modifies per 60 s (default 30; never held back by --max-orders-per-minute)')
    .option('--require-confirmation <when>', 'when a human must confirm: never, real (every real-env order and unlock), always, or a value N (orders worth more than N in --limit-currency); default real for keys with trade:real or trade:unlock, else never')
    .addOption(new Option('--confirmation-channel <channel>', 'auto: the client\'s confirmation form when it has one; out_of_band: always futucli approve or the approval page').choices(['auto', 'out_of_band']))
    .option('--max-calls-per-minute <n>', 'tool calls of every kind, reads included, per 60 s (default 600)')
    .addOption(new Option('--limit-currency <ccy>', 'currency of the value caps').choices(['HKD', 'USD', 'CNH']).default('HKD'))
    .option('--expires <when>', 'duration (90d, 12h, 30m), RFC 3339 date-time, or "never"', '90d')
    .addOption(new Option('--bind-this-machine', 'only usable on this machine').conflicts('bindMachines'))
    .option('--bind-machines <fingerprints>', 'only usable on these machines (see machine-id --for-key)')
    .option('--note <text>', 'free text for operators')
    .action(action(genKey));

  program
    .command('list-keys')
    .description('list keys with scopes, limits, binding and expiry (never the hashes)')
    .action(action(listKeys));

  program
    .command('revoke-key')
    .description('revoke a key by deleting its record')
    .argument('<id>', 'key id')
    .action(action(revokeKey));

  program
    .command('bind-key')
    .description('change which machines a key works on')
    .argument('<id>', 'key id')
    .option('--this-machine', 'add this machine')
    .option('--machines <fingerprints>', 'add these fingerprints (from machine-id --for-key on each machine)')
    .option('--replace', 'with --this-machine/--machines: replace the list instead of adding to it')
    .option('--clear', 'unbind: usable on any machine')
    .option('--freeze', 'usable on no machine until bound again')
    .action(action(bindKey));

  program
    .command('machine-id')
    .description("this machine's fingerprint per key (the raw machine id is never shown)")
    .option('--for-key <id>', 'print the fingerprint to bind key <id> to this machine')
    .action(action(machineId));
}

interface GenKeyOptions {
  id: string;
  scopes: string;
  allowedMarkets?: string;
  allowedSymbols?: string;
  allowedTrdSides?: string;
  allowedAccIds?: string;
  maxOrderValue?: string;
  maxDailyValue?: string;
  maxOrdersPerMinute?: string;
  hoursWindow?: string;
  manageAnyOrder?: boolean;
  maxCancelsPerMinute?: string;
  requireConfirmation?: string;
  confirmationChannel?: 'auto' | 'out_of_band';
  maxCallsPerMinute?: string;
  limitCurrency: string;
  expires: string;
  bindThisMachine?: boolean;
  bindMachines?: string;
  note?: string;
}

const RELOAD_REMINDER = 'A running futu-mcp applies this change by itself within a second (it watches the keys file); kill -HUP <pid> forces it';

function keysFileOf(command: Command): string {
  return resolve(command.optsWithGlobals<{ keysFile?: string }>().keysFile ?? defaultKeysFile());
}

async function genKey(command: Command, out: Output): Promise<void> {
  const opts = command.opts<GenKeyOptions>();
  const file = keysFileOf(command);
  const machine = new MachineIdentity();
  const plaintext = generatePlaintextKey();
  const record = recordFromOptions(opts, hashPlaintextKey(plaintext), Date.now(), machine);
  appendKeyRecord(file, record);
  const claudeDesktopConfig = stdioClientConfig(
    installedFutuMcp(['--gateway', '127.0.0.1:11111', '--keys-file', file, '--audit-log', defaultAuditLog()]),
    plaintext,
  );
  try {
    // The key comes first, so even `gen-key … | head -2` shows it.
    await out.resultDelivered({ id: record.id, key: plaintext, keys_file: file, claude_desktop_config: claudeDesktopConfig }, () =>
      [
        `API key "${record.id}" (shown once and never stored; save it now):`,
        `  ${plaintext}`,
        '',
        `Created in ${file}`,
        ...describeRecord(record, machine).map(([label, value]) => `  ${label.padEnd(8)} ${value}`),
        '',
        'Claude Desktop (claude_desktop_config.json):',
        JSON.stringify(claudeDesktopConfig, null, 2),
      ].join('\n'),
    );
  } catch (err) {
    // Nobody saw the plaintext, so nobody can use the key: a saved record would only be a key
    // waiting to be found. Take it back out.
    updateKeysFile(file, (records) => records.filter((existing) => !(existing.id === record.id && existing.hash === record.hash)));
    throw keyNotShown(record.id, (err as NodeJS.ErrnoException).code ?? describeError(err));
  }
  for (const warning of riskWarnings(record)) out.warn(warning);
  out.notice(RELOAD_REMINDER);
}

/** Allowed, but worth a second look before the key reaches an LLM client. */
function riskWarnings(record: KeyRecord): string[] {
  const warnings: string[] = [];
  const { max_order_value, max_daily_value } = record.limits;
  if (record.scopes.includes('trade:real') && (max_order_value === null || max_daily_value === null)) {
    warnings.push('this key can trade real money without both --max-order-value and --max-daily-value');
  }
  const limitsWithoutTrade = (['max_order_value', 'max_daily_value', 'max_orders_per_minute'] as const).filter(
    (limit) => record.limits[limit] !== null,
  );
  if (limitsWithoutTrade.length > 0 && !record.scopes.some((scope) => scope === 'trade:simulate' || scope === 'trade:real')) {
    const options = limitsWithoutTrade.map((limit) => `--${limit.replace(/_/g, '-')}`).join(', ');
    warnings.push(`${options} ${limitsWithoutTrade.length === 1 ? 'has' : 'have'} no effect: the key has no trade scope (trade:simulate or trade:real)`);
  }
  if (record.scopes.includes('trade:unlock')) {
    warnings.push('trade:unlock lets the key holder unlock real trading for all of OpenD; prefer futucli unlock-trade');
  }
  return warnings;
}

function recordFromOptions(opts: GenKeyOptions, hash: string, now: number, machine: MachineIdentity): KeyRecord {
  const parsed = parseKeyRecord({
    id: opts.id,
    hash,
    scopes: listOption('--scopes', opts.scopes),
    limits: {
      allowed_markets: listOption('--allowed-markets', opts.allowedMarkets),
      allowed_symbols: listOption('--allowed-symbols', opts.allowedSymbols),
      allowed_trd_sides: listOption('--allowed-trd-sides', opts.allowedTrdSides),
      allowed_acc_ids: listOption('--allowed-acc-ids', opts.allowedAccIds),
      max_order_value: numberOption(opts.maxOrderValue),
      max_daily_value: numberOption(opts.maxDailyValue),
      max_orders_per_minute: numberOption(opts.maxOrdersPerMinute),
      hours_window: opts.hoursWindow ?? null,
      limit_currency: opts.limitCurrency,
      manage_any_order: opts.manageAnyOrder === true,
      max_cancels_per_minute: numberOption(opts.maxCancelsPerMinute),
      max_calls_per_minute: numberOption(opts.maxCallsPerMinute),
    },
    allowed_machines: opts.bindThisMachine
      ? [machine.fingerprintFor(opts.id)]
      : listOption('--bind-machines', opts.bindMachines),
    created_at: new Date(now).toISOString(),
    expires_at: expiryOption(opts.expires, now),
    note: opts.note ?? null,
    require_confirmation: requireConfirmationOption(opts.requireConfirmation),
    confirmation_channel: opts.confirmationChannel ?? null,
  });
  if (!parsed.ok) throw keyOptionInvalid(parsed.issues.map(describeOptionIssue).join('; '));
  return parsed.record;
}

/** never | real | always | N (orders worth more than N); absent: the default for the key's scopes. */
function requireConfirmationOption(value: string | undefined): RequireConfirmation | null {
  if (value === undefined) return null;
  const word = value.trim().toLowerCase();
  if (word === 'never' || word === 'real' || word === 'always') return word;
  const threshold = Number(word);
  if (word !== '' && Number.isFinite(threshold) && threshold > 0) return { above_value: threshold };
  throw keyOptionInvalid(`--require-confirmation: expected never, real, always or a positive value, got "${value.slice(0, 40)}"`);
}

function listOption(option: string, value: string | undefined): string[] | null {
  if (value === undefined) return null;
  const items = splitList(value);
  // An empty allow-list would deny everything; on a command line that is a slip, not a policy.
  if (items.length === 0) throw keyOptionInvalid(`${option}: empty list`);
  return items;
}

/** Numbers pass as numbers; anything else goes through as text so validation names the option. */
function numberOption(value: string | undefined): number | string | null {
  if (value === undefined) return null;
  return /^\d+(\.\d+)?$/.test(value) ? Number(value) : value;
}

function expiryOption(spec: string, now: number): string | null {
  if (spec === 'never') return null;
  try {
    return resolveExpiry(spec, now);
  } catch (err) {
    throw keyOptionInvalid(`--expires: ${(err as Error).message}`);
  }
}

const OPTION_OF_FIELD: Readonly<Record<string, string>> = { allowed_machines: '--bind-machines' };

function describeOptionIssue(issue: RecordIssue): string {
  const field = issue.path.find((segment): segment is string => typeof segment === 'string' && segment !== 'limits');
  const option = field === undefined ? undefined : (OPTION_OF_FIELD[field] ?? `--${field.replace(/_/g, '-')}`);
  return option === undefined ? issue.message : `${option}: ${issue.message}`;
}

type Binding = 'unbound' | 'frozen' | 'this-machine' | 'other-machines' | 'unknown';

/** 'unknown' when the key is bound but this machine's id cannot be read. */
function bindingOf(record: KeyRecord, machine: MachineIdentity): Binding {
  if (record.allowed_machines === null) return 'unbound';
  if (record.allowed_machines.length === 0) return 'frozen';
  try {
    return record.allowed_machines.includes(machine.fingerprintFor(record.id)) ? 'this-machine' : 'other-machines';
  } catch {
    return 'unknown';
  }
}

function bindingLabel(allowedMachines: readonly string[] | null, binding: Binding): string {
  const count = allowedMachines?.length ?? 0;
  switch (binding) {
    case 'unbound':
      return '-';
    case 'frozen':
      return 'FROZEN';
    case 'this-machine':
      return count === 1 ? 'this machine' : `this machine +${count - 1}`;
    default:
      return `${count} machine(s)`;
  }
}

function describeRecord(record: KeyRecord, machine: MachineIdentity): [string, string][] {
  return [
    ['scopes', record.scopes.join(',')],
    ['limits', summarizeLimits(record.limits)],
    ['confirm', confirmationLabel(record)],
    ['bound', bindingLabel(record.allowed_machines, bindingOf(record, machine))],
    ['expires', record.expires_at ?? 'never'],
  ];
}

/** "real", "above 100000", with "(out of band)" when the key never uses the client's form. */
function confirmationLabel(record: Pick<KeyRecord, 'scopes' | 'require_confirmation' | 'confirmation_channel'>): string {
  const rule = describeRequireConfirmation(requireConfirmationOf(record));
  return record.confirmation_channel === 'out_of_band' ? `${rule} (out of band)` : rule;
}

function listKeys(command: Command, out: Output): void {
  const file = keysFileOf(command);
  // No keys file yet is a fresh machine, not an error: like machine-id, list-keys succeeds there.
  const exists = existsSync(file);
  const records = exists ? readKeysFile(file) : [];
  const machine = new MachineIdentity();
  const now = Date.now();
  const rows = records.map((record) => {
    const { hash: _hash, ...visible } = record;
    return {
      ...visible,
      require_confirmation: requireConfirmationOf(record),
      confirmation_channel: record.confirmation_channel ?? 'auto',
      expired: isExpired(record.expires_at, now),
      binding: bindingOf(record, machine),
    };
  });
  out.result({ keys_file: file, keys: rows }, () =>
    !exists
      ? `No keys yet: ${file} does not exist (futucli gen-key creates it)`
      : rows.length === 0
      ? `No keys in ${file}`
      : formatTable(
          ['ID', 'SCOPES', 'LIMITS', 'CONFIRM', 'BOUND', 'EXPIRES', 'EXPIRED'],
          rows.map((row) => [
            row.id,
            row.scopes.join(','),
            summarizeLimits(row.limits),
            confirmationLabel(row),
            bindingLabel(row.allowed_machines, row.binding),
            row.expires_at ?? 'never',
            row.expired ? 'yes' : 'no',
          ]),
        ),
  );
}

function revokeKey(command: Command, out: Output): void {
  const [id] = command.args as [string];
  const file = keysFileOf(command);
  updateKeysFile(file, (records) => {
    if (!records.some((record) => record.id === id)) throw keyNotFound(id);
    return records.filter((record) => record.id !== id);
  });
  out.result({ revoked: id, keys_file: file }, () => `Revoked key "${id}": its record was deleted from ${file}`);
  out.notice(RELOAD_REMINDER);
}

interface BindKeyOptions {
  thisMachine?: boolean;
  machines?: string;
  replace?: boolean;
  clear?: boolean;
  freeze?: boolean;
}

function bindKey(command: Command, out: Output): void {
  const [id] = command.args as [string];
  const opts = command.opts<BindKeyOptions>();
  const modes = [opts.thisMachine, opts.machines !== undefined, opts.clear, opts.freeze].filter(Boolean).length;
  if (modes !== 1) throw keyOptionInvalid('choose exactly one of --this-machine, --machines, --clear, --freeze');
  if (opts.replace && (opts.clear || opts.freeze)) throw keyOptionInvalid('--replace goes with --this-machine or --machines');
  const machine = new MachineIdentity();
  const file = keysFileOf(command);
  let updated: KeyRecord | undefined;
  updateKeysFile(file, (records) => {
    const current = records.find((record) => record.id === id);
    if (current === undefined) throw keyNotFound(id);
    updated = { ...current, allowed_machines: nextBinding(current, opts, machine) };
    return records.map((record) => (record.id === id ? updated! : record));
  });
  const record = updated!;
  const binding = bindingOf(record, machine);
  out.result({ id, allowed_machines: record.allowed_machines, binding, keys_file: file }, () =>
    `Key "${id}" binding: ${bindingLabel(record.allowed_machines, binding)}`,
  );
  out.notice(RELOAD_REMINDER);
}

function nextBinding(current: KeyRecord, opts: BindKeyOptions, machine: MachineIdentity): readonly string[] | null {
  if (opts.clear) return null;
  if (opts.freeze) return [];
  const added = opts.thisMachine ? [machine.fingerprintFor(current.id)] : fingerprintsOption(opts.machines ?? '');
  const kept = opts.replace ? [] : (current.allowed_machines ?? []);
  return [...new Set([...kept, ...added])];
}

function fingerprintsOption(value: string): string[] {
  const items = splitList(value);
  if (items.length === 0) throw keyOptionInvalid('--machines: empty list');
  return items.map((item) => {
    const fingerprint = normalizeFingerprint(item);
    if (fingerprint === undefined) throw keyOptionInvalid(`--machines: "${item.slice(0, 80)}" is not a machine fingerprint ("fp_" + 64 hex digits)`);
    return fingerprint;
  });
}

function machineId(command: Command, out: Output): void {
  const { forKey } = command.opts<{ forKey?: string }>();
  const machine = new MachineIdentity();
  const source = machine.source();
  if (forKey !== undefined) {
    if (!KEY_ID_PATTERN.test(forKey)) throw keyOptionInvalid(`--for-key: "${forKey.slice(0, 80)}" is not a valid key id`);
    const fingerprint = machine.fingerprintFor(forKey);
    out.result({ key_id: forKey, fingerprint, source }, () => fingerprint);
    out.notice(`Bind it where keys.json lives: futucli bind-key ${forKey} --machines ${fingerprint}`);
    return;
  }
  const file = keysFileOf(command);
  const keys = readKeysFileOrEmpty(file).map((record) => ({
    id: record.id,
    fingerprint: machine.fingerprintFor(record.id),
    binding: bindingOf(record, machine),
  }));
  out.result({ source, keys_file: file, keys }, () =>
    [
      `Machine id source: ${source}`,
      'Fingerprints differ per key, so one cannot be linked to another; use --for-key ID for a key kept elsewhere.',
      keys.length === 0
        ? `No keys in ${file}`
        : formatTable(['ID', 'FINGERPRINT', 'BOUND HERE'], keys.map((k) => [k.id, k.fingerprint, k.binding === 'this-machine' ? 'yes' : 'no'])),
    ].join('\n'),
  );
}

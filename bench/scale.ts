/**
 * `npm run bench:scale`: how the costs that should stay flat behave as the work grows, printed
 * side by side for this build and, with `--baseline DIR` (a built checkout, e.g. of main), the
 * same measurements of that build in the same run:
 *
 *   - per-request key cost (a valid key) and 401 cost (a bogus key), CPU µs, at 10/1k/10k/100k keys
 *   - futu_get_quote calls/s over HTTP (16 sessions) at 10/1k/10k/100k keys
 *   - reload stall: the longest call during a SIGHUP reload against the normal p50, at 100k keys,
 *     at +1,000 policies (10 keys), and at both at once
 *   - ledger CPU per trade with 0/10k/100k attempts in the rate window
 *   - aggregate trades/s through the ledger with 100 keys trading at once
 *
 * Every measurement runs in a child process that imports the build under test from its `dist`,
 * so one's heap and JIT cannot colour another's. Runtime is bounded (a few minutes on a 2-core
 * VM); it is never part of `npm test`. Figures are printed, never asserted.
 *
 * Knobs (environment): BENCH_SCALE_KEYS ("10,1000,10000,100000"), BENCH_SCALE_HTTP_MS (2000),
 * BENCH_SCALE_ONLY (some of "keys,http,reload,ledger,trading"; default all).
 */
import { execFileSync, fork, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { once } from 'node:events';
import { BENCH_CALLS_PER_MINUTE } from './mcp.js';

const KEY_COUNTS = (process.env.BENCH_SCALE_KEYS ?? '10,1000,10000,100000').split(',').map(Number);
const HTTP_MS = Number(process.env.BENCH_SCALE_HTTP_MS ?? 2_000);
const ONLY = new Set((process.env.BENCH_SCALE_ONLY ?? 'keys,http,reload,ledger,trading').split(','));
const LEDGER_ATTEMPTS = [0, 10_000, 100_000] as const;
const EXTRA_POLICIES = 1_000;
const TRADING_KEYS = 100;
const TRADING_MS = 3_000;
const THIS_ROOT = path.resolve(fileURLToPath(new URL('../..', import.meta.url)));
const SCRIPT = fileURLToPath(import.meta.url);

/** The valid key of every generated keys file (its record is the first). */
const VALID_KEY = `fc_${'5ca1e'.repeat(12)}abcd`;

type Measure = { readonly role: string; readonly root: string; readonly args: Record<string, unknown> };

// ---------------------------------------------------------------------------------------------
// Shared fixtures (written once per run, by this build's writer; the file format is common).

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/**
 * Builds with the per-key call-rate cap need it lifted for a throughput run; builds from before it
 * refuse the field as unknown. Each gets the keys file it accepts.
 */
function capsCallRate(root: string): boolean {
  return fs.readFileSync(path.join(root, 'dist', 'src', 'keys', 'schema.js'), 'utf8').includes('max_calls_per_minute');
}

function keysFileWith(dir: string, count: number, root: string): string {
  const capped = capsCallRate(root);
  const file = path.join(dir, `keys-${count}${capped ? '-uncapped' : ''}.json`);
  if (fs.existsSync(file)) return file;
  const keys = Array.from({ length: count }, (_, i) => ({
    id: i === 0 ? 'bench-valid' : `bench-${i}`,
    hash: i === 0 ? sha256(VALID_KEY) : sha256(`bench-${i}`),
    scopes: ['qot:read', 'acc:read', 'trade:simulate'],
    ...(capped && { limits: { max_calls_per_minute: BENCH_CALLS_PER_MINUTE } }),
  }));
  fs.writeFileSync(file, JSON.stringify({ version: 1, keys }), { mode: 0o600 });
  return file;
}

function policiesWithExtra(dir: string, root: string, extra: number): string {
  const target = path.join(dir, `policies-${path.basename(root)}-${extra}`);
  fs.rmSync(target, { recursive: true, force: true });
  fs.cpSync(path.join(root, 'policies'), target, { recursive: true });
  let text = '';
  for (let i = 0; i < extra; i++) {
    text += `@id("scale-${i}")\n@code("LIMIT_EXCEEDED")\n@priority("900")\n@message("scale rule ${i}")\n`;
    text += `forbid (principal is Futu::ApiKey, action in Futu::Action::"symbol-checked", resource) when { context.symbol == "ZZ.S${i}" };\n\n`;
  }
  fs.writeFileSync(path.join(target, 'scale.cedar'), text);
  return target;
}

// ---------------------------------------------------------------------------------------------
// Measurements (each runs in a child: `node scale.js --role ROLE`, job on IPC).

const dist = (root: string, module: string) => import(pathToFileURL(path.join(root, 'dist', 'src', module)).href);

/** CPU µs per call of `op`, run until at least `minMs` and `minRuns` have passed. */
function cpuMicrosPer(op: () => void, minRuns = 20, minMs = 400): number {
  for (let i = 0; i < 5; i++) op();
  const cpu = process.cpuUsage();
  const start = performance.now();
  let runs = 0;
  while (runs < minRuns || performance.now() - start < minMs) {
    op();
    runs++;
  }
  const used = process.cpuUsage(cpu);
  return (used.user + used.system) / runs;
}

async function measureKeyCost(root: string, args: { file: string }): Promise<Record<string, number>> {
  const { KeyStore } = await dist(root, 'keys/store.js');
  const store = KeyStore.open(args.file);
  const bogus = `fc_${'0'.repeat(64)}`;
  return {
    validUs: cpuMicrosPer(() => store.authenticate(VALID_KEY)),
    bogusUs: cpuMicrosPer(() => {
      try {
        store.authenticate(bogus);
      } catch {
        // the 401 path: KEY_INVALID
      }
    }),
  };
}

/**
 * Ledger cost per trade with `attempts` already in the key's 60 s window, through the public API
 * (decideAndReserve, then commit). Seeding that many attempts through the API would itself take
 * O(n²) with a ledger whose cost grows per attempt, so seedAttempts writes the state file the
 * way this ledger version stores it: ADAPT seedAttempts WHEN THE LEDGER'S STATE FORMAT CHANGES.
 */
async function measureLedger(root: string, args: { attempts: number; dir: string }): Promise<Record<string, number>> {
  const { LimitsLedger, ledgerFiles } = await dist(root, 'authz/ledger.js');
  const stateDir = fs.mkdtempSync(path.join(args.dir, 'ledger-'));
  const ledger = new LimitsLedger({ stateDir });
  const keyId = 'bench-trader';
  await seedAttempts(ledger, ledgerFiles, stateDir, keyId, args.attempts);
  const trade = async () => {
    const { reservation } = await ledger.decideAndReserve(keyId, 'HKD', new Date(), () => ({ outcome: true, reserveValue: 100 }));
    if (reservation) await ledger.commit(reservation);
  };
  for (let i = 0; i < 3; i++) await trade();
  const runs = 20;
  const cpu = process.cpuUsage();
  const start = performance.now();
  for (let i = 0; i < runs; i++) await trade();
  const used = process.cpuUsage(cpu);
  return { cpuMs: (used.user + used.system) / 1000 / runs, wallMs: (performance.now() - start) / runs };
}

async function seedAttempts(
  ledger: { decideAndReserve: (...args: unknown[]) => Promise<unknown> },
  ledgerFiles: (stateDir: string, keyId: string) => { state: string },
  stateDir: string,
  keyId: string,
  attempts: number,
): Promise<void> {
  // One real operation creates the key's files in whatever layout this version uses.
  await ledger.decideAndReserve(keyId, 'HKD', new Date(), () => ({ outcome: true, reserveValue: 0 }));
  if (attempts === 0) return;
  const file = ledgerFiles(stateDir, keyId).state;
  const text = fs.readFileSync(file, 'utf8');
  // Since records (ledgerFile.ts): one `<JSON>\t<checksum>` line per write, and a file of one
  // JSON document is still read (and replaced by the next write), which is how it is seeded.
  const last = text.endsWith('\n') ? text.slice(text.lastIndexOf('\n', text.length - 2) + 1, text.lastIndexOf('\t')) : text;
  const state = JSON.parse(last) as { attempts?: number[]; orders?: { recent: number[]; older: [number, number][] } };
  const now = Date.now();
  const times = Array.from({ length: attempts }, (_, i) => now - 30_000 + Math.floor((i * 29_000) / attempts));
  if (Array.isArray(state.attempts)) {
    // Version 1: every attempt's time.
    state.attempts = times;
  } else if (Array.isArray(state.orders?.recent)) {
    // Version 2: the newest EXACT_ATTEMPTS (256) exactly, the older ones counted per second.
    const exact = times.slice(-256);
    const perSecond = new Map<number, number>();
    for (const t of times.slice(0, -256)) perSecond.set(Math.floor(t / 1000), (perSecond.get(Math.floor(t / 1000)) ?? 0) + 1);
    state.orders = { recent: exact, older: [...perSecond.entries()] };
  } else {
    throw new Error('seedAttempts: unknown ledger state format; adapt bench/scale.ts seedAttempts');
  }
  fs.writeFileSync(file, JSON.stringify(state));
}

/** Trades per second through the ledger with `keys` keys each trading back to back. */
async function measureTrading(root: string, args: { dir: string; keys: number; ms: number }): Promise<Record<string, number>> {
  const { LimitsLedger } = await dist(root, 'authz/ledger.js');
  const ledger = new LimitsLedger({ stateDir: fs.mkdtempSync(path.join(args.dir, 'trading-')) });
  let trades = 0;
  const deadline = performance.now() + args.ms;
  const latencies: number[] = [];
  const trader = async (keyId: string) => {
    while (performance.now() < deadline) {
      const t0 = performance.now();
      const { reservation } = await ledger.decideAndReserve(keyId, 'HKD', new Date(), () => ({ outcome: true, reserveValue: 100 }));
      if (reservation) await ledger.commit(reservation);
      latencies.push(performance.now() - t0);
      trades++;
    }
  };
  const start = performance.now();
  await Promise.all(Array.from({ length: args.keys }, (_, i) => trader(`bench-trader-${i}`)));
  latencies.sort((a, b) => a - b);
  return { perSecond: trades / ((performance.now() - start) / 1000), p50Ms: latencies[Math.floor(latencies.length / 2)] ?? NaN };
}

const ROLES: Record<string, (root: string, args: never) => Promise<Record<string, number>>> = {
  keyCost: measureKeyCost,
  ledger: measureLedger,
  trading: measureTrading,
};

function inChild(measure: Measure): Promise<Record<string, number>> {
  return new Promise((resolve, reject) => {
    const child = fork(SCRIPT, ['--role', measure.role], { env: { ...process.env, FUTU_LOG_LEVEL: 'error' }, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    child.once('message', (result: Record<string, number>) => resolve(result));
    child.once('exit', (code) => (code === 0 ? undefined : reject(new Error(`${measure.role} exited with ${code}`))));
    child.send(measure);
  });
}

// ---------------------------------------------------------------------------------------------
// futu-mcp processes (HTTP throughput and reload stall).

interface Server {
  readonly url: string;
  readonly child: ReturnType<typeof spawn>;
  stderr(): string;
  stop(): Promise<void>;
}

/** The URL in futu-mcp's "futu-mcp ready" log line, whatever order the logger writes its fields in. */
function readyUrl(stderr: string): string | undefined {
  const line = stderr.split('\n').find((l) => l.includes('"msg":"futu-mcp ready"'));
  if (line === undefined) return undefined;
  try {
    return (JSON.parse(line) as { url?: string }).url;
  } catch {
    return undefined;
  }
}

async function startServer(root: string, dir: string, keysFile: string, extraArgs: string[] = []): Promise<Server> {
  const work = fs.mkdtempSync(path.join(dir, 'server-'));
  const child = spawn(
    process.execPath,
    [path.join(root, 'dist/src/cli/futu-mcp.js'), '--gateway', 'sim', '--keys-file', keysFile, '--state-dir', path.join(work, 'state'), '--audit-log', path.join(work, 'audit.jsonl'), '--http-listen', '127.0.0.1:0', ...extraArgs],
    { env: { ...process.env, FUTU_LOG_LEVEL: 'info' }, stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const deadline = Date.now() + 120_000;
  let url: string | undefined;
  while (url === undefined) {
    if (child.exitCode !== null || Date.now() > deadline) throw new Error(`futu-mcp did not start: ${stderr.slice(-500)}`);
    url = readyUrl(stderr);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  await new Promise((resolve) => setTimeout(resolve, 300)); // the simulator link comes up
  return {
    url,
    child,
    stderr: () => stderr,
    stop: async () => {
      if (child.exitCode === null) {
        child.kill('SIGTERM');
        await once(child, 'exit');
      }
    },
  };
}

async function measureHttp(root: string, dir: string, keys: number): Promise<Record<string, number>> {
  const server = await startServer(root, dir, keysFileWith(dir, keys, root));
  try {
    const { loadInChild } = (await import(pathToFileURL(path.join(THIS_ROOT, 'dist/bench/mcp.js')).href)) as typeof import('./mcp.js');
    const result = await loadInChild({ url: server.url, token: VALID_KEY, clients: 16, warmUpMs: 500, measureMs: HTTP_MS, workload: { kind: 'quote' } });
    return { perSecond: result.calls / (result.elapsedMs / 1000), p50Ms: result.latencies[Math.floor(result.latencies.length / 2)] ?? NaN, errors: result.errors };
  } finally {
    await server.stop();
  }
}

/** An MCP session for sequential futu_get_quote calls; `calls(until)` makes them until `until()`, returning their latencies (ms). */
async function quoteSession(url: string): Promise<{ calls(until: () => boolean): Promise<number[] & { failed?: number }>; close(): Promise<void> }> {
  const base = { 'content-type': 'application/json', accept: 'application/json, text/event-stream', authorization: `Bearer ${VALID_KEY}` };
  const post = async (headers: Record<string, string>, body: unknown): Promise<Response> => {
    // A server stalled by a reload may drop a kept-alive socket: one retry on a fresh one.
    for (let attempt = 0; ; attempt++) {
      try {
        return await fetch(url, { method: 'POST', headers, body: JSON.stringify(body) });
      } catch (err) {
        if (attempt > 0) throw err;
      }
    }
  };
  const init = await post(base, { jsonrpc: '2.0', id: 0, method: 'initialize', params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'bench', version: '0' } } });
  await init.text();
  const headers = { ...base, 'mcp-session-id': init.headers.get('mcp-session-id') ?? '', 'mcp-protocol-version': '2025-11-25' };
  await (await post(headers, { jsonrpc: '2.0', method: 'notifications/initialized' })).text();
  let id = 1;
  return {
    calls: async (until) => {
      const latencies: number[] & { failed?: number } = [];
      latencies.failed = 0;
      while (!until()) {
        const t0 = performance.now();
        try {
          const res = await post(headers, { jsonrpc: '2.0', id: id++, method: 'tools/call', params: { name: 'futu_get_quote', arguments: { symbols: ['HK.00700'] } } });
          const body = await res.text();
          if (res.status !== 200 || body.includes('"isError":true')) latencies.failed += 1;
        } catch {
          latencies.failed += 1;
        }
        latencies.push(performance.now() - t0);
      }
      return latencies;
    },
    close: async () => {
      await fetch(url, { method: 'DELETE', headers }).then((res) => res.text()).catch(() => undefined);
    },
  };
}

/** The longest call while SIGHUP reloads `keys` keys and `extraPolicies` policies beyond the shipped set, against the normal p50. */
async function measureReload(root: string, dir: string, keys: number, extraPolicies: number): Promise<Record<string, number>> {
  const policies = extraPolicies > 0 ? ['--policies', policiesWithExtra(dir, root, extraPolicies)] : [];
  const server = await startServer(root, dir, keysFileWith(dir, keys, root), policies);
  try {
    const session = await quoteSession(server.url);
    const normalEnd = performance.now() + 1_500;
    const normal = (await session.calls(() => performance.now() > normalEnd)).sort((a, b) => a - b);
    const finishedBefore = server.stderr().split('"msg":"reload finished"').length;
    const reloadStart = performance.now();
    let reloadMs = NaN;
    const done = () => {
      if (server.stderr().split('"msg":"reload finished"').length > finishedBefore) {
        if (Number.isNaN(reloadMs)) reloadMs = performance.now() - reloadStart;
        return true;
      }
      return performance.now() - reloadStart > 120_000;
    };
    // The signal goes out while a call is in flight on the open session: a stall shows in that call.
    const during = session.calls(done);
    server.child.kill('SIGHUP');
    const latencies = await during;
    await session.close();
    const p50 = normal[Math.floor(normal.length / 2)] ?? NaN;
    const longest = Math.max(...latencies);
    return { normalP50Ms: p50, normalMaxMs: normal.at(-1) ?? NaN, longestDuringMs: longest, stallMs: longest - p50, reloadMs, callsDuring: latencies.length, failedDuring: latencies.failed ?? 0 };
  } finally {
    await server.stop();
  }
}

// ---------------------------------------------------------------------------------------------
// Orchestration and the table.

interface Target {
  readonly label: string;
  readonly root: string;
}

function fmt(value: number | undefined, digits = 1): string {
  if (value === undefined || Number.isNaN(value)) return '—';
  return value >= 100 ? Math.round(value).toLocaleString('en-US') : value.toFixed(digits);
}

async function main(): Promise<void> {
  const baselineIndex = process.argv.indexOf('--baseline');
  const baseline = baselineIndex > 0 ? process.argv[baselineIndex + 1] : process.env.BENCH_SCALE_BASELINE;
  const targets: Target[] = [{ label: 'this build', root: THIS_ROOT }, ...(baseline ? [{ label: 'baseline', root: path.resolve(baseline) }] : [])];
  for (const target of targets) {
    if (!fs.existsSync(path.join(target.root, 'dist/src/cli/futu-mcp.js'))) throw new Error(`${target.root} has no build (dist/src/cli/futu-mcp.js): run npm run build there`);
  }
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'futu-bench-scale-'));
  const rows: Array<{ name: string; unit: string; values: string[] }> = [];
  const row = (name: string, unit: string, values: string[]) => {
    rows.push({ name, unit, values });
    console.error(`  ${name}: ${values.join(' | ')} ${unit}`);
  };
  const forEach = async (measure: (target: Target) => Promise<Record<string, number>>) => {
    const results: Record<string, number>[] = [];
    for (const target of targets) {
      results.push(await measure(target).catch((err: unknown) => (console.error(`  ${target.label}: ${String(err)} ${String((err as { cause?: unknown }).cause ?? '')}`), {})));
    }
    return results;
  };
  console.log(`futu-mcp bench:scale — node ${process.version}, ${os.cpus().length} × ${os.cpus()[0]?.model ?? 'cpu'}, load ${os.loadavg()[0]!.toFixed(2)}`);
  try {
    for (const keys of ONLY.has('keys') ? KEY_COUNTS : []) {
      const results = await forEach((target) => inChild({ role: 'keyCost', root: target.root, args: { file: keysFileWith(dir, keys, target.root) } }));
      row(`key cost per request, ${keys.toLocaleString('en-US')} keys`, 'µs CPU', results.map((r) => fmt(r.validUs)));
      row(`401 cost (bogus key), ${keys.toLocaleString('en-US')} keys`, 'µs CPU', results.map((r) => fmt(r.bogusUs)));
    }
    for (const keys of ONLY.has('http') ? KEY_COUNTS : []) {
      const results = await forEach((target) => measureHttp(target.root, dir, keys));
      row(`HTTP futu_get_quote, 16 sessions, ${keys.toLocaleString('en-US')} keys`, 'calls/s (p50 ms)', results.map((r) => `${fmt(r.perSecond)} (${fmt(r.p50Ms)})`));
    }
    const mostKeys = Math.max(...KEY_COUNTS);
    const reloadCases = [
      { keys: mostKeys, extra: 0 },
      { keys: 10, extra: EXTRA_POLICIES },
      { keys: mostKeys, extra: EXTRA_POLICIES },
    ];
    for (const { keys, extra } of ONLY.has('reload') ? reloadCases : []) {
      const reload = await forEach((target) => measureReload(target.root, dir, keys, extra));
      row(`reload ${keys.toLocaleString('en-US')} keys${extra > 0 ? ` + ${extra} policies` : ''}: longest call − p50`, 'ms', reload.map((r) => fmt(r.stallMs)));
      row('  longest call during the reload (normal p50 / max)', 'ms', reload.map((r) => `${fmt(r.longestDuringMs)} (${fmt(r.normalP50Ms)} / ${fmt(r.normalMaxMs)})`));
      row('  reload duration (calls answered meanwhile, failed)', 'ms', reload.map((r) => `${fmt(r.reloadMs)} (${fmt(r.callsDuring, 0)}, ${fmt(r.failedDuring, 0)})`));
    }
    for (const attempts of ONLY.has('ledger') ? LEDGER_ATTEMPTS : []) {
      const results = await forEach((target) => inChild({ role: 'ledger', root: target.root, args: { attempts, dir } }));
      row(`ledger per trade, ${attempts.toLocaleString('en-US')} attempts in window`, 'ms CPU (wall)', results.map((r) => `${fmt(r.cpuMs, 3)} (${fmt(r.wallMs)})`));
    }
    const trading = ONLY.has('trading') ? await forEach((target) => inChild({ role: 'trading', root: target.root, args: { dir, keys: TRADING_KEYS, ms: TRADING_MS } })) : [];
    if (trading.length > 0) row(`ledger trades/s, ${TRADING_KEYS} keys at once`, 'trades/s (p50 ms)', trading.map((r) => `${fmt(r.perSecond)} (${fmt(r.p50Ms)})`));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
  const width = Math.max(...rows.map((r) => r.name.length));
  const columns = targets.map((t) => t.label);
  const colWidth = Math.max(18, ...rows.flatMap((r) => r.values.map((v) => v.length)));
  console.log(`\n${''.padEnd(width)}  ${columns.map((c) => c.padStart(colWidth)).join('  ')}`);
  for (const r of rows) console.log(`${r.name.padEnd(width)}  ${r.values.map((v) => v.padStart(colWidth)).join('  ')}  ${r.unit}`);
  if (baseline) console.log(`\nbaseline: ${path.resolve(baseline)} (${gitDescribe(path.resolve(baseline))})`);
}

function gitDescribe(root: string): string {
  try {
    return execFileSync('git', ['-C', root, 'log', '-1', '--format=%h %s'], { encoding: 'utf8' }).trim();
  } catch {
    return 'not a git checkout';
  }
}

const roleIndex = process.argv.indexOf('--role');
if (roleIndex > 0) {
  process.once('message', (measure: Measure) => {
    const run = ROLES[measure.role];
    if (!run) throw new Error(`unknown role ${measure.role}`);
    void run(measure.root, measure.args as never).then((result) => process.send!(result, () => process.exit(0)));
  });
} else {
  await main();
}

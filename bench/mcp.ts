/**
 * futu_get_quote over MCP Streamable HTTP, end to end, for (a) the real futu-mcp (key lookup,
 * Cedar, audit with fdatasync, metrics) and (b) a bare passthrough built from the same pieces
 * (createMcpServer + startHttpServer, the same tool executing gateway.getBasicQuotes) with none of
 * that. Both talk to one shared simulator in this process.
 *
 * The load runs in a child process (so on two cores the servers get one core and the clients the
 * other, as with real clients): N sessions, each initialized like an MCP client does and then
 * looping tools/call over keep-alive connections, parsing every response (SSE or JSON) and
 * checking it is a successful result. The rounds alternate between the servers so drifting load
 * on a shared machine hits both alike. Figures are printed, never asserted.
 *
 * This VM's speed drifts by ±20% within a minute, so the rounds are short and many, each server's
 * round follows the other's, and the ratio reported is the median of the per-round ratios: a drift
 * hits both halves of a pair alike, and one disturbed pair cannot move the median.
 *
 * Throughput is measured at several session counts, because the two servers saturate at different
 * ones: bare answers as soon as OpenD does, while every futu-mcp answer also waits for the audit
 * log's fdatasync (group commit), so with few sessions futu-mcp is bounded by that latency rather
 * than by work. Each level is printed, then each server's peak (its best level's median) and the
 * ratio of the peaks: the capacity comparison.
 *
 * Knobs (environment): BENCH_MCP_CLIENTS (session counts, "16,64"), BENCH_MCP_WARMUP_MS (1000),
 * BENCH_MCP_MEASURE_MS (2500), BENCH_MCP_ROUNDS (5); BENCH_MCP_DIAG=1 adds futu-mcp without --audit-log;
 * BENCH_MCP_ONLY=futu-mcp,no-audit,bare (any of them) loads only those (profile with node --cpu-prof);
 * BENCH_MCP_VERBOSE=1 prints every round.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { fork } from 'node:child_process';
import { Pool } from 'undici';
import { writeKeysFile } from '../src/keys/file.js';
import { generatePlaintextKey, hashPlaintextKey } from '../src/keys/material.js';
import { NO_LIMITS, type KeyLimits, type Scope } from '../src/keys/types.js';
import { intentIdentity } from '../src/authz/orderTag.js';
import { FutuGateway } from '../src/gateway/api.js';
import type { WritePacerOptions } from '../src/gateway/pacing.js';
import { AccountDirectory } from '../src/gateway/accounts.js';
import { startFutuMcp } from '../src/mcp/app.js';
import { startHttpServer, type RunningHttpServer } from '../src/mcp/http.js';
import { createMcpServer } from '../src/mcp/server.js';
import { getQuote } from '../src/mcp/tools/get_quote.js';
import type { AnyFutuTool, ToolContext } from '../src/mcp/tools/kit.js';
import { setLogLevel } from '../src/shared/log.js';
import { startSimulator } from '../src/sim/server.js';


const SESSION_COUNTS = (process.env.BENCH_MCP_CLIENTS ?? '16,64').split(',').map(Number);
const WARM_UP_MS = Number(process.env.BENCH_MCP_WARMUP_MS ?? 1_000);
const MEASURE_MS = Number(process.env.BENCH_MCP_MEASURE_MS ?? 2_500);
const ROUNDS = Number(process.env.BENCH_MCP_ROUNDS ?? 5);
const ARGS = { symbols: ['HK.00700'] };

/**
 * What each session loops on: the quote read, or (trade path) placing an order and cancelling it
 * again, every call of either counted and timed on its own.
 */
export type Workload = { readonly kind: 'quote' } | { readonly kind: 'place-cancel'; readonly order: Record<string, unknown> };

const QUOTE: Workload = { kind: 'quote' };

export interface LoadJob {
  readonly url: string;
  /** Replicas behind a load balancer: the sessions go round-robin over these URLs instead of `url`. */
  readonly spreadOver?: readonly string[];
  readonly token: string;
  readonly clients: number;
  readonly warmUpMs: number;
  readonly measureMs: number;
  readonly workload: Workload;
}

export interface LoadResult {
  readonly calls: number;
  /** Calls completed over the whole run, warm-up included. */
  readonly totalCalls: number;
  readonly errors: number;
  readonly elapsedMs: number;
  /** Sorted latencies (ms) of the measured calls. */
  readonly latencies: Float64Array;
}

// ---------------------------------------------------------------------------------------------
// Load generator (child process): raw JSON-RPC over keep-alive HTTP, one MCP session per client.
// undici rather than node:http: it needs about a quarter less CPU per request, and on a 2-core machine
// every cycle the client spends is one the server under test does not get.

async function post(pool: Pool, path: string, headers: Record<string, string>, body: string): Promise<{ status: number; headers: Record<string, unknown>; body: string }> {
  const res = await pool.request({ path, method: 'POST', headers, body });
  return { status: res.statusCode, headers: res.headers, body: await res.body.text() };
}

async function del(pool: Pool, path: string, headers: Record<string, string>): Promise<void> {
  const res = await pool.request({ path, method: 'DELETE', headers });
  await res.body.dump();
}

/** The JSON-RPC message of a response, whether sent as application/json or as one SSE event. */
function rpcMessage(body: string): { result?: { isError?: boolean; structuredContent?: unknown }; error?: unknown } {
  const trimmed = body.trimStart();
  if (trimmed.startsWith('{')) return JSON.parse(trimmed) as never;
  const data = body.split('\n').filter((line) => line.startsWith('data:')).map((line) => line.slice(5).trim()).find((line) => line.startsWith('{'));
  if (data === undefined) throw new Error(`no JSON-RPC message in response: ${body.slice(0, 200)}`);
  return JSON.parse(data) as never;
}

async function openSession(pool: Pool, path: string, token: string): Promise<Record<string, string>> {
  const base = { 'content-type': 'application/json', accept: 'application/json, text/event-stream', authorization: `Bearer ${token}` };
  const init = await post(
    pool,
    path,
    base,
    JSON.stringify({ jsonrpc: '2.0', id: 0, method: 'initialize', params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'bench', version: '0' } } }),
  );
  const sessionId = init.headers['mcp-session-id'];
  if (init.status !== 200 || typeof sessionId !== 'string') throw new Error(`initialize failed: ${init.status} ${init.body.slice(0, 200)}`);
  const headers = { ...base, 'mcp-session-id': sessionId, 'mcp-protocol-version': '2025-11-25' };
  const ack = await post(pool, path, headers, JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' }));
  if (ack.status !== 202) throw new Error(`notifications/initialized: ${ack.status}`);
  return headers;
}

interface Session {
  readonly pool: Pool;
  readonly path: string;
  readonly headers: Record<string, string>;
}

async function runLoad(job: LoadJob): Promise<LoadResult> {
  const urls = (job.spreadOver ?? [job.url]).map((u) => new URL(u));
  const pools = new Map(urls.map((u) => [u.origin, new Pool(u.origin, { connections: job.clients })]));
  const sessions = await Promise.all(
    Array.from({ length: job.clients }, async (_, i) => {
      const url = urls[i % urls.length]!;
      const pool = pools.get(url.origin)!;
      return { pool, path: url.pathname, headers: await openSession(pool, url.pathname, job.token) };
    }),
  );
  const latencies: number[] = [];
  let calls = 0;
  let totalCalls = 0;
  let errors = 0;
  let measuring = false;
  let id = 1;
  const started = performance.now();
  const measureFrom = started + job.warmUpMs;
  const deadline = measureFrom + job.measureMs;
  /** One timed tools/call; the structured result of a successful one. */
  const call = async ({ pool, path, headers }: Session, name: string, args: Record<string, unknown>): Promise<Record<string, unknown> | undefined> => {
    const t0 = performance.now();
    const res = await post(pool, path, headers, JSON.stringify({ jsonrpc: '2.0', id: id++, method: 'tools/call', params: { name, arguments: args } }));
    const t1 = performance.now();
    totalCalls++;
    const message = res.status === 200 ? rpcMessage(res.body) : undefined;
    const ok = message?.result !== undefined && message.result.isError !== true && message.result.structuredContent !== undefined;
    if (t0 >= measureFrom && t1 <= deadline) {
      measuring = true;
      calls++;
      if (!ok) errors++;
      latencies.push(t1 - t0);
    }
    return ok ? (message.result!.structuredContent as Record<string, unknown>) : undefined;
  };
  const { workload } = job;
  const loop = async (session: Session) => {
    while (performance.now() < deadline) {
      if (workload.kind === 'quote') {
        await call(session, 'futu_get_quote', ARGS);
        continue;
      }
      // The cancel runs even past the deadline: no order of this run is left working.
      const placed = await call(session, 'futu_place_order', workload.order);
      if (typeof placed?.order_id === 'string') await call(session, 'futu_cancel_order', { order_id: placed.order_id });
    }
  };
  await Promise.all(sessions.map(loop));
  // A well-behaved client ends its session (the server caps open sessions per key).
  await Promise.all(sessions.map(({ pool, path, headers }) => del(pool, path, headers)));
  await Promise.all([...pools.values()].map((pool) => pool.close()));
  if (!measuring) throw new Error('no call completed inside the measurement window');
  return { calls, totalCalls, errors, elapsedMs: job.measureMs, latencies: Float64Array.from(latencies).sort() };
}

const LOAD_ROLE = 'bench-mcp-load';

if (process.env.FUTU_BENCH_ROLE === LOAD_ROLE && process.send) {
  process.once('message', (job: LoadJob) => {
    void runLoad(job).then((result) => process.send!({ ...result, latencies: [...result.latencies] }, () => process.exit(0)));
  });
}

/**
 * Runs the load in a child process (its own core on a 2-core machine, like a real client). Also
 * reports this process's CPU time per call over the run: the server under load and the
 * simulator, with the load generator's work excluded.
 */
export function loadInChild(job: LoadJob): Promise<LoadResult & { serverCpuUsPerCall: number }> {
  return new Promise((resolve, reject) => {
    const cpuBefore = process.cpuUsage();
    const child = fork(fileURLToPath(import.meta.url), [], { env: { ...process.env, FUTU_BENCH_ROLE: LOAD_ROLE }, stdio: 'inherit' });
    child.once('message', (result: Omit<LoadResult, 'latencies'> & { latencies: number[] }) => {
      const cpu = process.cpuUsage(cpuBefore);
      resolve({ ...result, latencies: Float64Array.from(result.latencies), serverCpuUsPerCall: (cpu.user + cpu.system) / result.totalCalls });
    });
    child.once('error', reject);
    child.once('exit', (code, signal) => (code !== 0 ? reject(new Error(`load generator exited ${code ?? signal}`)) : undefined));
    child.send(job);
  });
}

// ---------------------------------------------------------------------------------------------
// The two servers.

/**
 * The passthrough: same SDK, same transport code, same tools and gateway calls; no key, Cedar,
 * ledger, audit or metrics. A trade tool still gets the plan it builds itself (the account, and
 * for a cancel the order looked up at OpenD) and a remark tag, as it would from the pipeline.
 */
export async function startBareServer(
  simPort: number,
  tools: readonly AnyFutuTool[] = [getQuote as AnyFutuTool],
  pacing?: WritePacerOptions,
): Promise<{ http: RunningHttpServer; close(): Promise<void> }> {
  const gateway = new FutuGateway({ port: simPort, clientId: 'bench-bare', pacing });
  await gateway.connect();
  const accounts = new AccountDirectory(gateway);
  const byName = new Map(tools.map((tool) => [tool.name, tool]));
  const http = await startHttpServer({
    listen: '127.0.0.1:0',
    createServer: () =>
      createMcpServer({
        name: 'bare',
        version: '0',
        tools,
        handleCall: async (name, args, context) => {
          const tool = byName.get(name)!;
          const ctx: ToolContext = { gateway, accounts, signal: context.signal, keyId: 'bench', accountAllowed: () => true };
          const authorized = await tool.authz(args, ctx);
          const orderTag = authorized.kind === 'trade' ? intentIdentity('bench', undefined).tag : undefined;
          return { structured: (await tool.execute(args, { ...ctx, authorized, orderTag })) as Record<string, unknown> };
        },
      }),
    authenticate: async () => ({ keyId: 'bare', scopes: [] }),
    health: { ready: () => gateway.isConnected },
  });
  return {
    http,
    close: async () => {
      await http.close();
      await gateway.close();
    },
  };
}

function pct(sorted: Float64Array, q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * q))] ?? NaN;
}

interface Round {
  readonly perSecond: number;
  readonly cpuUsPerCall: number;
  readonly p50: number;
  readonly p99: number;
  readonly errors: number;
}

function summarize(result: LoadResult & { serverCpuUsPerCall: number }): Round {
  return {
    perSecond: (result.calls * 1000) / result.elapsedMs,
    cpuUsPerCall: result.serverCpuUsPerCall,
    p50: pct(result.latencies, 0.5),
    p99: pct(result.latencies, 0.99),
    errors: result.errors,
  };
}

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

function line(label: string, rounds: readonly Round[]): string {
  const rate = median(rounds.map((r) => r.perSecond));
  const p50 = median(rounds.map((r) => r.p50));
  const p99 = median(rounds.map((r) => r.p99));
  const cpu = median(rounds.map((r) => r.cpuUsPerCall));
  const errors = rounds.reduce((sum, r) => sum + r.errors, 0);
  const each = rounds.map((r) => Math.round(r.perSecond).toLocaleString('en-US')).join(' / ');
  return `${label.padEnd(9)} ${Math.round(rate).toLocaleString('en-US').padStart(6)} calls/s (rounds ${each}), p50 ${p50.toFixed(2)} ms, p99 ${p99.toFixed(2)} ms, server CPU ${Math.round(cpu)} µs/call${errors ? `, ${errors} FAILED calls` : ''}`;
}

export interface Target {
  readonly label: string;
  readonly url: string;
  /** See LoadJob.spreadOver. */
  readonly spreadOver?: readonly string[];
}

/** ROUNDS alternating rounds of every target at one session count; prints them and the paired ratio. */
export async function measureLevel(targets: readonly Target[], token: string, clients: number, workload: Workload = QUOTE): Promise<Map<string, Round[]>> {
  const rounds = new Map<string, Round[]>(targets.map((t) => [t.label, []]));
  for (let round = 0; round < ROUNDS; round++) {
    for (const target of round % 2 === 0 ? targets : [...targets].reverse()) {
      const result = summarize(await loadInChild({ url: target.url, spreadOver: target.spreadOver, token, clients, warmUpMs: WARM_UP_MS, measureMs: MEASURE_MS, workload }));
      rounds.get(target.label)!.push(result);
      if (process.env.BENCH_MCP_VERBOSE) console.error(`${clients} sessions, round ${round + 1} ${target.label}: ${JSON.stringify(result)}`);
    }
  }
  console.log(`${clients} sessions, ${ROUNDS} × ${MEASURE_MS / 1000} s per server (median of rounds):`);
  for (const target of targets) console.log(line(target.label, rounds.get(target.label)!));
  const ours = rounds.get('futu-mcp');
  const theirs = rounds.get('bare');
  if (ours !== undefined && theirs !== undefined) {
    const ratios = ours.map((r, i) => r.perSecond / theirs[i]!.perSecond);
    console.log(`ratio     futu-mcp / bare = ${median(ratios).toFixed(2)}, median of rounds ${ratios.map((r) => r.toFixed(2)).join(' / ')}`);
  }
  return rounds;
}

/**
 * Benches measure throughput, so their keys lift the per-key call-rate cap (600 calls a minute by
 * default), which would otherwise refuse all but the first few hundred calls of a run.
 */
export const BENCH_CALLS_PER_MINUTE = 1_000_000_000;

/** Writes a keys file holding one key for the bench; returns its plaintext. */
export function writeBenchKey(keysFile: string, id: string, scopes: readonly Scope[], limits: KeyLimits): string {
  const token = generatePlaintextKey();
  writeKeysFile(keysFile, [
    { id, hash: hashPlaintextKey(token), scopes, limits: { ...limits, max_calls_per_minute: BENCH_CALLS_PER_MINUTE }, allowed_machines: null, created_at: new Date().toISOString(), expires_at: null, note: 'npm run bench' },
  ]);
  return token;
}

/**
 * futu-mcp vs the bare passthrough at each session count of SESSION_COUNTS; prints calls/s,
 * latency and server CPU per call of both, the per-level ratios and the ratio of the peaks.
 */
export async function benchMcp(): Promise<void> {
  setLogLevel('warn');
  const dir = mkdtempSync(path.join(os.tmpdir(), 'futu-bench-mcp-'));
  const sim = await startSimulator({ port: 0, seed: 7 });
  const keysFile = path.join(dir, 'keys.json');
  const token = writeBenchKey(keysFile, 'bench-reader', ['qot:read'], NO_LIMITS);
  const futu = await startFutuMcp({
    gateway: `127.0.0.1:${sim.port}`,
    keysFile,
    stateDir: path.join(dir, 'state'),
    auditLog: path.join(dir, 'audit.jsonl'),
    httpListen: '127.0.0.1:0',
  });
  // BENCH_MCP_DIAG=1 adds futu-mcp without --audit-log, to show what the audit costs.
  const unaudited = process.env.BENCH_MCP_DIAG
    ? await startFutuMcp({ gateway: `127.0.0.1:${sim.port}`, keysFile, stateDir: path.join(dir, 'state2'), httpListen: '127.0.0.1:0' })
    : undefined;
  const bare = await startBareServer(sim.port);
  try {
    const deadline = Date.now() + 10_000;
    while (!(futu.gateway.isConnected && (unaudited?.gateway.isConnected ?? true)) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
    // BENCH_MCP_ONLY=futu-mcp,bare,... loads only the servers named (for profiling one alone).
    const targets: Target[] = [
      { label: 'futu-mcp', url: futu.url! },
      ...(unaudited ? [{ label: 'no-audit', url: unaudited.url! }] : []),
      { label: 'bare', url: bare.http.url },
    ].filter((t) => process.env.BENCH_MCP_ONLY === undefined || process.env.BENCH_MCP_ONLY.split(',').includes(t.label));
    // Warm every server up first (JIT, subscriptions), so the first measured round is not a cold one.
    for (const target of targets) await loadInChild({ url: target.url, token, clients: SESSION_COUNTS[0]!, warmUpMs: WARM_UP_MS, measureMs: 500, workload: QUOTE });
    console.log('futu_get_quote {symbols:["HK.00700"]} over Streamable HTTP');
    const peaks = new Map<string, { perSecond: number; clients: number }>();
    for (const clients of SESSION_COUNTS) {
      const rounds = await measureLevel(targets, token, clients);
      for (const [label, measured] of rounds) {
        const perSecond = median(measured.map((r) => r.perSecond));
        if (perSecond > (peaks.get(label)?.perSecond ?? 0)) peaks.set(label, { perSecond, clients });
      }
    }
    const ours = peaks.get('futu-mcp');
    const theirs = peaks.get('bare');
    if (ours === undefined || theirs === undefined) return;
    const rate = (peak: { perSecond: number; clients: number }) => `${Math.round(peak.perSecond).toLocaleString('en-US')} calls/s at ${peak.clients} sessions`;
    console.log(
      `peak      futu-mcp ${rate(ours)}, bare ${rate(theirs)}: ratio ${(ours.perSecond / theirs.perSecond).toFixed(2)} ` +
        '(goal ≥ 0.80 of bare, and ≥ 1,500 calls/s)',
    );
  } finally {
    await futu.close();
    await unaudited?.close();
    await bare.close();
    await sim.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.env.FUTU_BENCH_ROLE !== LOAD_ROLE && process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) await benchMcp();

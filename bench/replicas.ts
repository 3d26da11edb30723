/**
 * Issue 17's figures: calls/s and p50/p99 of futu_get_quote and of the place+cancel trade path
 * (a) on one futu-mcp keeping its state in the state directory, (b) on one keeping it in Redis,
 * (c) on 2 and 3 replicas sharing that Redis with the sessions spread round-robin over them, all
 * in the same run (alternating rounds, bench/mcp.ts's load generator and BENCH_MCP_* knobs;
 * BENCH_TRADE_CLIENTS sessions, default 16). Prints Redis / file on 1 replica and 2, 3 / 1 replica.
 *
 * Every replica is its own process (forked from this file) with its own embedded simulator (its
 * own seed, so no two hand out the same order ids), order-rate limits off as in bench/trade.ts:
 * one shared simulator would make OpenD's per-account write pacing (15 places / 30 s, enforced by
 * every replica) the figure measured. Redis is a
 * redis-server of the bench's own on loopback (appendfsync everysec, as the README advises). On a
 * 2-core machine the replicas, Redis and the load generator share the cores, so more replicas
 * cannot add throughput: what the 2/3-replica ratios show is the cost of spreading (more
 * processes, more connections to Redis), not the gain a replica on its own machine would bring.
 */
import { fork } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { NO_LIMITS } from '../src/keys/types.js';
import { startFutuMcp } from '../src/mcp/app.js';
import { setLogLevel } from '../src/shared/log.js';
import { RedisServer } from '../test/helpers/service.js';
import { measureLevel, median, writeBenchKey, type Target, type Workload } from './mcp.js';

const CLIENTS = Number(process.env.BENCH_TRADE_CLIENTS ?? 16);
const SATURDAY = '2026-12-05T10:00:00+08:00';
const SYMBOL = 'HK.00700';
const REPLICA_ROLE = 'bench-replica';

interface ReplicaJob {
  readonly name: string;
  /** Each simulator its own seed: replicas sharing Redis must not see the same order ids. */
  readonly seed: number;
  readonly dir: string;
  readonly keysFile: string;
  readonly redisUrl?: string;
}

interface ReplicaReady {
  readonly url: string;
  readonly price: number;
}

/** A replica: futu-mcp over HTTP with its embedded simulator, in this child process until killed. */
async function runReplica(job: ReplicaJob): Promise<ReplicaReady> {
  setLogLevel('error');
  const futu = await startFutuMcp({
    gateway: 'sim',
    simSeed: job.seed,
    simClock: SATURDAY,
    simOrderRateLimits: false,
    keysFile: job.keysFile,
    stateDir: path.join(job.dir, `${job.name}.state`),
    auditLog: path.join(job.dir, `${job.name}.audit.jsonl`),
    httpListen: '127.0.0.1:0',
    ...(job.redisUrl !== undefined && { redis: { url: job.redisUrl, prefix: 'bench-replicas:' } }),
  });
  const deadline = Date.now() + 10_000;
  while (!futu.gateway.isConnected && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
  const [snapshot] = await futu.gateway.getSnapshots([SYMBOL]);
  return { url: futu.url!, price: snapshot!.price };
}

function startReplica(job: ReplicaJob): Promise<ReplicaReady & { stop(): void }> {
  return new Promise((resolve, reject) => {
    const child = fork(fileURLToPath(import.meta.url), [], { env: { ...process.env, FUTU_BENCH_ROLE: REPLICA_ROLE }, stdio: 'inherit' });
    child.once('message', (ready: ReplicaReady) => resolve({ ...ready, stop: () => child.kill('SIGKILL') }));
    child.once('error', reject);
    child.once('exit', (code, signal) => reject(new Error(`replica ${job.name} exited ${code ?? signal}`)));
    child.send(job);
  });
}

function ratioLine(label: string, rounds: Map<string, { perSecond: number }[]>, over: string, under: string): string {
  const ratios = rounds.get(over)!.map((r, i) => r.perSecond / rounds.get(under)![i]!.perSecond);
  return `ratio     ${label} = ${median(ratios).toFixed(2)}, median of rounds ${ratios.map((r) => r.toFixed(2)).join(' / ')}`;
}

async function benchReplicas(): Promise<void> {
  setLogLevel('warn');
  const redis = await RedisServer.start().catch((err: Error) => {
    console.log(`(not measured: Redis could not start: ${err.message.split('\n')[0]})`);
    return undefined;
  });
  if (!redis) return;
  const dir = mkdtempSync(path.join(os.tmpdir(), 'futu-bench-replicas-'));
  const keysFile = path.join(dir, 'keys.json');
  const token = writeBenchKey(keysFile, 'bench-replicas', ['qot:read', 'trade:simulate'], { ...NO_LIMITS, max_daily_value: 1e12, max_cancels_per_minute: 1e9 });
  const replicas: (ReplicaReady & { stop(): void })[] = [];
  try {
    const file = await startReplica({ name: 'file', seed: 7, dir, keysFile });
    replicas.push(file);
    for (const [i, name] of ['r1', 'r2', 'r3'].entries()) replicas.push(await startReplica({ name, seed: 7 + i, dir, keysFile, redisUrl: redis.url }));
    const [, r1, r2, r3] = replicas as [unknown, ReplicaReady, ReplicaReady, ReplicaReady];
    const targets: Target[] = [
      { label: 'file 1', url: file.url },
      { label: 'redis 1', url: r1.url },
      { label: 'redis 2', url: r1.url, spreadOver: [r1.url, r2.url] },
      { label: 'redis 3', url: r1.url, spreadOver: [r1.url, r2.url, r3.url] },
    ];
    // Below every simulator's market (their seeds differ), a whole number of HKD: valid for any
    // tick size, and resting on a Saturday until it is cancelled.
    const price = Math.floor(Math.min(...replicas.map((r) => r.price)) * 0.9);
    const workloads: [string, Workload][] = [
      ['futu_get_quote HK.00700', { kind: 'quote' }],
      [`futu_place_order LIMIT BUY 100 HK.00700 @ ${price} + futu_cancel_order of it`, { kind: 'place-cancel', order: { symbol: SYMBOL, side: 'BUY', order_type: 'LIMIT', qty: 100, price } }],
    ];
    console.log('file 1: one futu-mcp, state in the state directory; redis N: N replicas sharing one Redis, sessions round-robin over them');
    for (const [what, workload] of workloads) {
      console.log(`\n${what} over Streamable HTTP (each call counted)`);
      const rounds = await measureLevel(targets, token, CLIENTS, workload);
      console.log(ratioLine('redis 1 / file 1', rounds, 'redis 1', 'file 1'));
      console.log(ratioLine('redis 2 / redis 1', rounds, 'redis 2', 'redis 1'));
      console.log(ratioLine('redis 3 / redis 1', rounds, 'redis 3', 'redis 1'));
    }
    console.log(
      `\n(${os.cpus().length} cores shared by the replicas, Redis and the load generator: see the header of bench/replicas.ts; ` +
        '"server CPU" is this coordinating process\'s, not the replicas\': ignore it here)',
    );
  } finally {
    for (const replica of replicas) replica.stop();
    await redis.dispose();
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.env.FUTU_BENCH_ROLE === REPLICA_ROLE && process.send) {
  process.once('message', (job: ReplicaJob) => {
    void runReplica(job).then((ready) => process.send!(ready));
  });
} else if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  await benchReplicas();
}

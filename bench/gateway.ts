import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { FutuGateway } from '../src/gateway/index.js';
import { setLogLevel } from '../src/shared/log.js';
import { startSimulator } from '../src/sim/server.js';

const SYMBOL = 'HK.00700';
const WARM_UP = 3_000;
const SAMPLES = 5_000;
const IN_FLIGHT = 64;
const THROUGHPUT_MS = 3_000;

function percentile(sorted: Float64Array, q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * q))]!;
}

/** Sequential round trips, one at a time: the latency a single caller sees. */
async function latency(gateway: FutuGateway): Promise<Float64Array> {
  const samples = new Float64Array(SAMPLES);
  for (let i = 0; i < SAMPLES; i++) {
    const started = performance.now();
    await gateway.getBasicQuotes([SYMBOL]);
    samples[i] = performance.now() - started;
  }
  return samples.sort();
}

/** IN_FLIGHT callers looping for THROUGHPUT_MS. */
async function throughput(gateway: FutuGateway): Promise<{ perSecond: number; cpuMicrosPerRequest: number }> {
  let completed = 0;
  const started = performance.now();
  const deadline = started + THROUGHPUT_MS;
  const cpuBefore = process.cpuUsage();
  const caller = async (): Promise<void> => {
    while (performance.now() < deadline) {
      await gateway.getBasicQuotes([SYMBOL]);
      completed++;
    }
  };
  await Promise.all(Array.from({ length: IN_FLIGHT }, caller));
  const elapsedMs = performance.now() - started;
  const cpu = process.cpuUsage(cpuBefore);
  return { perSecond: (completed * 1000) / elapsedMs, cpuMicrosPerRequest: (cpu.user + cpu.system) / completed };
}

/**
 * Gateway round trip against an embedded simulator in this same process (so both sides share one
 * event loop, and the figures include the simulator's work): Qot_GetBasicQot through the typed
 * API, sequential latency and throughput with 64 requests in flight.
 */
export async function benchGateway(): Promise<void> {
  setLogLevel('warn');
  const sim = await startSimulator({ port: 0, seed: 7 });
  const gateway = new FutuGateway({ port: sim.port });
  try {
    await gateway.connect();
    for (let i = 0; i < WARM_UP; i++) await gateway.getBasicQuotes([SYMBOL]);
    const sorted = await latency(gateway);
    const { perSecond, cpuMicrosPerRequest } = await throughput(gateway);
    console.log(
      `gateway round trip (Qot_GetBasicQot ${SYMBOL}, ${SAMPLES} sequential): p50 ${percentile(sorted, 0.5).toFixed(3)} ms, p99 ${percentile(sorted, 0.99).toFixed(3)} ms`,
    );
    console.log(
      `gateway throughput (${IN_FLIGHT} in flight, ${THROUGHPUT_MS / 1000} s): ${Math.round(perSecond).toLocaleString('en-US')} req/s, CPU ${cpuMicrosPerRequest.toFixed(1)} µs/req (client + simulator)`,
    );
  } finally {
    await gateway.close();
    await sim.close();
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) await benchGateway();

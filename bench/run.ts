/**
 * `npm run bench`: every benchmark, each in its own process so one's heap and JIT state cannot
 * colour another's numbers. Figures are printed, never asserted: tests don't fail on speed.
 */
import { spawnSync } from 'node:child_process';
import os from 'node:os';
import { fileURLToPath } from 'node:url';

const BENCHES = ['gateway', 'authz', 'audit', 'mcp', 'trade', 'replicas'] as const;

console.log(`futu-mcp benchmarks — node ${process.version}, ${os.cpus().length} × ${os.cpus()[0]?.model ?? 'cpu'}, load ${os.loadavg()[0]!.toFixed(2)}`);
let failed = false;
for (const name of BENCHES) {
  console.log(`\n== ${name}`);
  const file = fileURLToPath(new URL(`./${name}.js`, import.meta.url));
  const run = spawnSync(process.execPath, [file], { stdio: 'inherit', env: { ...process.env, FUTU_LOG_LEVEL: process.env.FUTU_LOG_LEVEL ?? 'error' } });
  if (run.status !== 0) {
    console.log(`(${name} benchmark exited with ${run.status ?? run.signal})`);
    failed = true;
  }
}
process.exitCode = failed ? 1 : 0;

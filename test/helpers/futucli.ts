import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { TestContext } from 'node:test';

/** Runs the built futucli (dist/src/cli/futucli.js) as a real child process. */
export const FUTUCLI = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'src', 'cli', 'futucli.js');

export interface CliRun {
  status: number | null;
  stdout: string;
  stderr: string;
}

export interface CliOptions {
  /** Added to a scrubbed copy of this process's environment. */
  env?: Record<string, string>;
  input?: string;
}

/**
 * The environment a child sees: this process's, minus anything that would make a test depend on
 * the machine it runs on (a real trade password, a machine-id override, a log level).
 */
export function childEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const name of ['FUTU_TRADE_PWD', 'FUTU_MCP_MACHINE_ID_FILE', 'FUTU_LOG_LEVEL', 'FUTU_GATEWAY', 'FUTU_MCP_REDIS_PASSWORD']) delete env[name];
  return { ...env, ...extra };
}

export function runFutucli(args: readonly string[], options: CliOptions = {}): CliRun {
  const result = spawnSync(process.execPath, [FUTUCLI, ...args], {
    env: childEnv(options.env),
    input: options.input ?? '',
    encoding: 'utf8',
  });
  if (result.error) throw result.error;
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** Same as runFutucli, without blocking: for runs that must overlap, or talk to an in-process server. */
export function runFutucliAsync(args: readonly string[], options: CliOptions = {}): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [FUTUCLI, ...args], { env: childEnv(options.env) });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (status) => resolve({ status, stdout, stderr }));
    child.stdin.end(options.input ?? '');
  });
}

/** A private temporary directory, removed when the test ends. */
export function tempDir(t: TestContext): string {
  const dir = mkdtempSync(join(tmpdir(), 'futu-keys-test-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** Writes `content` (JSON-encoded unless a string) with `mode`, regardless of the umask. */
export function writeFileWithMode(file: string, content: unknown, mode = 0o600): string {
  writeFileSync(file, typeof content === 'string' ? content : JSON.stringify(content, null, 2));
  chmodSync(file, mode);
  return file;
}

/** A file `name` in `dir` holding a raw machine id, for FUTU_MCP_MACHINE_ID_FILE. */
export function machineIdFile(dir: string, name: string, rawId: string): string {
  return writeFileWithMode(join(dir, name), `${rawId}\n`, 0o644);
}

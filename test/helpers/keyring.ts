import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { loadTradePasswordMd5, tradePasswordMd5 } from '../../src/keys/tradePassword.js';
import { childEnv, runFutucli, type CliRun } from './futucli.js';

/**
 * Runs inside a private D-Bus session with gnome-keyring as the Secret Service (started by
 * test/cli/tradePassword-keychain.test.ts). `scenario` drives futucli and reports what it saw as
 * one JSON object on stdout; `read` is the fresh process that reads the password back. Neither
 * prints the password or its digest: they report whether what they read matches.
 *
 * Usage: node keyring.js scenario | read
 * Env: KEYRING_TEST_TRADE_PWD, KEYRING_TEST_SECOND_PWD (the passwords to store)
 */
const SELF = fileURLToPath(import.meta.url);
const first = process.env.KEYRING_TEST_TRADE_PWD ?? '';
const second = process.env.KEYRING_TEST_SECOND_PWD ?? '';

interface ReadResult {
  ok: boolean;
  source?: string;
  code?: string;
  /** Which test password the digest belongs to, if any. */
  matches?: 'first' | 'second' | 'neither';
}

async function readOnce(): Promise<ReadResult> {
  try {
    const { md5, source } = await loadTradePasswordMd5();
    const matches = md5 === tradePasswordMd5(first) ? 'first' : md5 === tradePasswordMd5(second) ? 'second' : 'neither';
    return { ok: true, source, matches };
  } catch (err) {
    return { ok: false, code: (err as { code?: string }).code ?? 'UNEXPECTED' };
  }
}

/** A new node process, so nothing cached in this one can answer for the keychain. */
function readInNewProcess(extraEnv: Record<string, string> = {}): ReadResult {
  const env = { ...childEnv(extraEnv), KEYRING_TEST_TRADE_PWD: first, KEYRING_TEST_SECOND_PWD: second };
  const run = spawnSync(process.execPath, [SELF, 'read'], { env, encoding: 'utf8' });
  return JSON.parse(run.stdout) as ReadResult;
}

/** Whether Secret Service itself (not the library) holds exactly `password` under our entry. */
function secretServiceHolds(password: string): boolean {
  const lookup = spawnSync('secret-tool', ['lookup', 'service', 'futu-mcp', 'username', 'trade-password'], { encoding: 'utf8' });
  return lookup.status === 0 && lookup.stdout === password;
}

function scenario(): Record<string, CliRun | ReadResult | boolean> {
  const set = runFutucli(['set-trade-pwd', '--from-stdin'], { input: `${first}\n` });
  const afterSet = readInNewProcess();
  const heldAfterSet = secretServiceHolds(first);
  const envWins = readInNewProcess({ FUTU_TRADE_PWD: ` ${second} ` });
  const overwrite = runFutucli(['-o', 'json', 'set-trade-pwd', '--from-stdin'], { input: `${second}\r\nignored second line\n` });
  const afterOverwrite = readInNewProcess();
  const clear = runFutucli(['-o', 'json', 'clear-trade-pwd']);
  const afterClear = readInNewProcess();
  const heldAfterClear = secretServiceHolds(second);
  const clearAgain = runFutucli(['clear-trade-pwd']);
  return { set, afterSet, heldAfterSet, envWins, overwrite, afterOverwrite, clear, afterClear, heldAfterClear, clearAgain };
}

const mode = process.argv[2];
if (mode === 'read') process.stdout.write(JSON.stringify(await readOnce()));
else if (mode === 'scenario') process.stdout.write(JSON.stringify(scenario()));
else throw new Error(`unknown mode ${mode}`);

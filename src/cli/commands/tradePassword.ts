import type { Command } from 'commander';
import { FutuGateway } from '../../gateway/api.js';
import { tradePasswordInput } from '../../keys/errors.js';
import {
  KEYCHAIN_SERVICE,
  KEYCHAIN_USER,
  TRADE_PASSWORD_ENV,
  clearTradePassword,
  loadTradePasswordMd5,
  storeTradePassword,
} from '../../keys/tradePassword.js';
import { action, type Output } from '../output.js';
import { parseHostPort } from './gatewayAddress.js';

/**
 * The trade password (set-trade-pwd, clear-trade-pwd) and the operator's unlock-trade. The password
 * is read without echo (or from stdin for automation), goes straight to the OS keychain, and only
 * its MD5 ever goes to OpenD; it is never printed, logged or put in an error.
 */
export function registerTradePasswordCommands(program: Command): void {
  program
    .command('set-trade-pwd')
    .description('store the OpenD trade password in the OS keychain (prompts twice, no echo)')
    .option('--from-stdin', 'read the password from the first line of stdin instead of prompting')
    .action(action(setTradePassword));

  program
    .command('clear-trade-pwd')
    .description('remove the trade password from the OS keychain')
    .action(action(clearStoredTradePassword));

  program
    .command('unlock-trade')
    .description('unlock real trading on OpenD with the stored trade password (or lock it again)')
    .option('--lock', 'lock real trading again instead')
    .option('--gateway <host:port>', 'OpenD address', process.env.FUTU_GATEWAY ?? '127.0.0.1:11111')
    .option('--rsa-key <file>', "OpenD's RSA private key (PEM) when OpenD encrypts its protocol")
    .action(action(unlockTrade));
}

const KEYCHAIN_ENTRY = `service "${KEYCHAIN_SERVICE}", account "${KEYCHAIN_USER}"`;

async function setTradePassword(command: Command, out: Output): Promise<void> {
  const { fromStdin } = command.opts<{ fromStdin?: boolean }>();
  const password = fromStdin ? await readFirstLine(process.stdin) : await promptTwice();
  await storeTradePassword(password);
  out.result({ stored: true, service: KEYCHAIN_SERVICE, account: KEYCHAIN_USER }, () =>
    `Trade password stored in the OS keychain (${KEYCHAIN_ENTRY}).`,
  );
  if (process.env[TRADE_PASSWORD_ENV]?.trim()) {
    out.notice(`Note: ${TRADE_PASSWORD_ENV} is set in this environment and takes precedence over the keychain.`);
  }
}

async function clearStoredTradePassword(_command: Command, out: Output): Promise<void> {
  const cleared = await clearTradePassword();
  out.result({ cleared }, () =>
    cleared ? `Trade password removed from the OS keychain (${KEYCHAIN_ENTRY}).` : 'No trade password was stored in the OS keychain.',
  );
}

interface UnlockOptions {
  lock?: boolean;
  gateway: string;
  rsaKey?: string;
}

/** Sends only the password's MD5, and only over this one short-lived connection. */
async function unlockTrade(command: Command, out: Output): Promise<void> {
  const opts = command.opts<UnlockOptions>();
  const { host, port } = parseHostPort(opts.gateway);
  const secret = opts.lock ? undefined : await loadTradePasswordMd5();
  const gateway = new FutuGateway({ host, port, rsaPrivateKey: opts.rsaKey });
  try {
    await gateway.connect();
    await gateway.unlockTrade(secret ? { unlock: true, pwdMD5: secret.md5 } : { unlock: false });
  } finally {
    await gateway.close();
  }
  if (secret) {
    out.result({ unlocked: true, gateway: opts.gateway, password_source: secret.source }, () =>
      `Real trading unlocked on OpenD ${opts.gateway} (password from ${secret.source === 'env' ? TRADE_PASSWORD_ENV : 'the OS keychain'}).`,
    );
    out.notice('The unlock is OpenD-wide: every client of this OpenD can trade real money until OpenD restarts or `futucli unlock-trade --lock`.');
  } else {
    out.result({ unlocked: false, gateway: opts.gateway }, () => `Real trading locked on OpenD ${opts.gateway}.`);
  }
}


async function promptTwice(): Promise<string> {
  if (!process.stdin.isTTY) throw tradePasswordInput('stdin is not a terminal; use --from-stdin');
  const [first, second] = await promptHidden(['Trade password: ', 'Repeat trade password: ']);
  if (first !== second) throw tradePasswordInput('the two entries differ');
  return first!;
}

/**
 * One line per prompt from the terminal, in raw mode so nothing is echoed. Raw mode stays on
 * across prompts: switching it off in between would echo keys typed ahead. Prompts go to stderr.
 */
function promptHidden(prompts: readonly string[]): Promise<string[]> {
  const input = process.stdin;
  input.setRawMode(true);
  input.setEncoding('utf8');
  input.resume();
  process.stderr.write(prompts[0]!);
  return new Promise((resolve, reject) => {
    const answers: string[] = [];
    let value = '';
    const finish = (outcome: () => void) => {
      input.off('data', onData);
      input.setRawMode(false);
      input.pause();
      process.stderr.write('\n');
      outcome();
    };
    const onData = (chunk: string) => {
      for (const char of chunk) {
        if (char === '\u0003' || char === '\u0004') return finish(() => reject(tradePasswordInput('cancelled')));
        if (char !== '\r' && char !== '\n') {
          value = char === '\u007f' || char === '\b' ? value.slice(0, -1) : value + char;
          continue;
        }
        answers.push(value);
        value = '';
        if (answers.length === prompts.length) return finish(() => resolve(answers));
        process.stderr.write(`\n${prompts[answers.length]!}`);
      }
    };
    input.on('data', onData);
  });
}

async function readFirstLine(stream: NodeJS.ReadableStream): Promise<string> {
  let text = '';
  for await (const chunk of stream) {
    text += typeof chunk === 'string' ? chunk : chunk.toString('utf8');
    if (text.includes('\n')) break;
  }
  return text.split(/\r?\n/, 1)[0] ?? '';
}

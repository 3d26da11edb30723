import type { KeyStore } from '../keys/store.js';
import { describeError } from '../shared/errors.js';
import type { CallContext, ToolFailure } from './server.js';

/**
 * A stdio server has one way to get a key: FUTU_MCP_API_KEY (or --api-key) in the MCP client's
 * config for it. Without a usable one every call is refused, so say so once at startup, on stderr
 * where the client's server log shows it, instead of letting the user discover it call by call.
 */
export function startupKeyProblem(keys: KeyStore, startupKey: string | undefined, now = Date.now()): string | undefined {
  if (!startupKey) return 'FUTU_MCP_API_KEY is not set: every call will be refused; see futucli gen-key';
  try {
    keys.authenticate(startupKey, now);
    return undefined;
  } catch (err) {
    return `FUTU_MCP_API_KEY is not usable (${describeError(err)}): every call will be refused; see futucli list-keys and futucli gen-key`;
  }
}

const STDIO_KEY_FIX: Readonly<Record<string, string>> = {
  KEY_MISSING: "set FUTU_MCP_API_KEY in this server's env in the MCP client config (futucli gen-key creates a key), then restart the server",
  KEY_INVALID: "FUTU_MCP_API_KEY in this server's env in the MCP client config is not a key of its keys file; put a key from futucli gen-key there and restart the server",
};

/**
 * Over stdio, a call without its own `api_key` runs under the startup key, which the user can only
 * fix in the client config: a missing or unknown key's error says how. (A bad `api_key` argument
 * is the model's to fix, and HTTP clients get the 401 first.)
 */
export function withStartupKeyFix(failure: ToolFailure, transport: CallContext['transport'], argumentKey: unknown): ToolFailure {
  const fromStartupKey = transport === 'stdio' && (typeof argumentKey !== 'string' || argumentKey === '');
  const fix = fromStartupKey ? STDIO_KEY_FIX[failure.code] : undefined;
  return fix === undefined ? failure : { code: failure.code, message: `${failure.message}: ${fix}` };
}

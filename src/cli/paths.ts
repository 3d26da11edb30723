import { homedir } from 'node:os';
import { posix, win32 } from 'node:path';

/**
 * Per-OS default locations. keys.json sits where the reference product keeps it (so an existing
 * file is found); futu-mcp's own state (limit ledgers) gets its own directory.
 *   keys file  Linux  $XDG_CONFIG_HOME/futu/keys.json (~/.config/futu/keys.json)
 *              macOS  ~/Library/Application Support/futu/keys.json
 *              Windows %APPDATA%\futu\keys.json
 *   state dir  Linux  $XDG_STATE_HOME/futu-mcp (~/.local/state/futu-mcp)
 *              macOS  ~/Library/Application Support/futu-mcp/state
 *              Windows %LOCALAPPDATA%\futu-mcp\state
 *   audit log  Linux  $XDG_STATE_HOME/futu-mcp/futu-mcp-audit.jsonl (printed client configs only)
 *              macOS  ~/Library/Logs/futu-mcp-audit.jsonl (the README's recommendation)
 *              Windows %LOCALAPPDATA%\futu-mcp\futu-mcp-audit.jsonl
 */
export interface PlatformContext {
  readonly platform: NodeJS.Platform;
  readonly env: NodeJS.ProcessEnv;
  readonly home: string;
}

const current = (): PlatformContext => ({ platform: process.platform, env: process.env, home: homedir() });

export function defaultKeysFile(context: PlatformContext = current()): string {
  const { platform, env, home } = context;
  if (platform === 'win32') return win32.join(env.APPDATA || win32.join(home, 'AppData', 'Roaming'), 'futu', 'keys.json');
  if (platform === 'darwin') return posix.join(home, 'Library', 'Application Support', 'futu', 'keys.json');
  return posix.join(xdg(env.XDG_CONFIG_HOME) ?? posix.join(home, '.config'), 'futu', 'keys.json');
}

export function defaultStateDir(context: PlatformContext = current()): string {
  const { platform, env, home } = context;
  if (platform === 'win32') return win32.join(env.LOCALAPPDATA || win32.join(home, 'AppData', 'Local'), 'futu-mcp', 'state');
  if (platform === 'darwin') return posix.join(home, 'Library', 'Application Support', 'futu-mcp', 'state');
  return posix.join(xdg(env.XDG_STATE_HOME) ?? posix.join(home, '.local', 'state'), 'futu-mcp');
}

/** Where printed client configs put the audit log (the server itself writes none without --audit-log). */
export function defaultAuditLog(context: PlatformContext = current()): string {
  const { platform, env, home } = context;
  if (platform === 'win32') return win32.join(env.LOCALAPPDATA || win32.join(home, 'AppData', 'Local'), 'futu-mcp', 'futu-mcp-audit.jsonl');
  if (platform === 'darwin') return posix.join(home, 'Library', 'Logs', 'futu-mcp-audit.jsonl');
  return posix.join(xdg(env.XDG_STATE_HOME) ?? posix.join(home, '.local', 'state'), 'futu-mcp', 'futu-mcp-audit.jsonl');
}

/** The XDG spec says relative values are invalid and must be ignored. */
function xdg(value: string | undefined): string | undefined {
  return value && posix.isAbsolute(value) ? value : undefined;
}

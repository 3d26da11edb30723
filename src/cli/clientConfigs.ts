import { fileURLToPath } from 'node:url';

/**
 * Ready-to-paste MCP client configuration. Claude Desktop, Cursor (~/.cursor/mcp.json) and
 * Continue share the `mcpServers` shape for stdio; HTTP clients take a URL and a bearer header.
 */
export interface StdioLaunch {
  readonly command: string;
  readonly args: readonly string[];
}

/**
 * How a client launches this installation's futu-mcp: the absolute path of the node running now
 * and of the futu-mcp script next to this file. No PATH lookup and no `#!/usr/bin/env node`, so it
 * works from a clone without `npm install -g` and from clients (Claude Desktop on macOS) that start
 * servers with a minimal PATH where `node` may be missing.
 */
export function installedFutuMcp(args: readonly string[]): StdioLaunch {
  return { command: process.execPath, args: [fileURLToPath(new URL('./futu-mcp.js', import.meta.url)), ...args] };
}

export function stdioClientConfig(launch: StdioLaunch, apiKey: string): { mcpServers: Record<string, unknown> } {
  return { mcpServers: { futu: { command: launch.command, args: [...launch.args], env: { FUTU_MCP_API_KEY: apiKey } } } };
}

export function httpClientConfig(url: string, apiKey: string): { mcpServers: Record<string, unknown> } {
  return { mcpServers: { futu: { type: 'http', url, headers: { Authorization: `Bearer ${apiKey}` } } } };
}

/**
 * Ready-to-paste MCP client configuration. Claude Desktop, Cursor (~/.cursor/mcp.json) and
 * Continue share the `mcpServers` shape for stdio; HTTP clients take a URL and a bearer header.
 */
export interface StdioLaunch {
  readonly command: string;
  readonly args: readonly string[];
}

export function stdioClientConfig(launch: StdioLaunch, apiKey: string): { mcpServers: Record<string, unknown> } {
  return { mcpServers: { futu: { command: launch.command, args: [...launch.args], env: { FUTU_MCP_API_KEY: apiKey } } } };
}

export function httpClientConfig(url: string, apiKey: string): { mcpServers: Record<string, unknown> } {
  return { mcpServers: { futu: { type: 'http', url, headers: { Authorization: `Bearer ${apiKey}` } } } };
}

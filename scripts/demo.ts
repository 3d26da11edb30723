/**
 * `npm run demo`: a scripted MCP client plays the seeds' three conversations against futu-mcp
 * spawned over stdio (as Claude Desktop does) on the embedded simulator, with the seeds' own
 * key (`futucli gen-key --id claude-analyst --scopes qot:read,acc:read --expires 90d
 * --bind-this-machine`), then runs the seeds' jq audit queries.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client } from '@modelcontextprotocol/client';
import { StdioClientTransport, getDefaultEnvironment } from '@modelcontextprotocol/client/stdio';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const cli = (name: string) => path.join(repoRoot, 'dist', 'src', 'cli', `${name}.js`);
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'futu-mcp-demo-'));
const keysFile = path.join(work, 'keys.json');
const auditLog = path.join(work, 'futu-mcp-audit.jsonl');

interface ToolResult {
  content: { type: string; text?: string }[];
  structuredContent?: Record<string, unknown>;
  isError?: boolean;
}

function say(text = ''): void {
  process.stdout.write(`${text}\n`);
}

function genAnalystKey(): string {
  const base = ['--keys-file', keysFile, '-o', 'json', 'gen-key', '--id', 'claude-analyst', '--scopes', 'qot:read,acc:read', '--expires', '90d'];
  let run = spawnSync(process.execPath, [cli('futucli'), ...base, '--bind-this-machine'], { encoding: 'utf8' });
  if (run.status !== 0) {
    say('(this machine has no readable machine id, so the demo key is not machine-bound)');
    run = spawnSync(process.execPath, [cli('futucli'), ...base], { encoding: 'utf8' });
  }
  if (run.status !== 0) throw new Error(`futucli gen-key failed: ${run.stdout}${run.stderr}`);
  return (JSON.parse(run.stdout) as { key: string }).key;
}

async function main(): Promise<void> {
  say('$ futucli gen-key --id claude-analyst --scopes qot:read,acc:read --expires 90d --bind-this-machine');
  const apiKey = genAnalystKey();
  say(`  key created in ${keysFile} (plaintext shown once; only its SHA-256 is stored)`);

  const transport = new StdioClientTransport({
    command: process.execPath,
    args: [cli('futu-mcp'), '--gateway', 'sim', '--keys-file', keysFile, '--audit-log', auditLog, '--state-dir', path.join(work, 'state')],
    env: { ...getDefaultEnvironment(), FUTU_MCP_API_KEY: apiKey, FUTU_LOG_LEVEL: 'warn' },
    stderr: 'ignore',
  });
  const client = new Client({ name: 'futu-mcp-demo', version: '1.0.0' });
  await client.connect(transport);
  const call = async (name: string, args: Record<string, unknown> = {}): Promise<ToolResult> => {
    const result = (await client.callTool({ name, arguments: args })) as ToolResult;
    const text = result.content.find((c) => c.type === 'text')?.text ?? '';
    const firstLine = text.split('\n')[0] ?? '';
    say(`  → ${name} ${JSON.stringify(args)}`);
    say(`    ${result.isError ? '✗' : '✓'} ${firstLine}`);
    return result;
  };

  try {
    const tools = await client.listTools();
    say(`\nConnected over stdio; ${tools.tools.length} tools listed.`);

    say('\n"Show me the latest quotes for Tencent and Apple, and walk me through today\'s market."');
    await call('futu_get_quote', { symbols: ['HK.00700', 'US.AAPL'] });
    await call('futu_get_snapshot', { symbols: ['HK.00700', 'US.AAPL'] });
    await call('futu_get_kline', { symbol: 'HK.00700', kl_type: 'day', num: 5 });
    await call('futu_get_kline', { symbol: 'US.AAPL', kl_type: 'day', num: 5 });

    say('\n"What do I hold? What trades executed today?"');
    const accounts = await call('futu_list_accounts');
    const list = (accounts.structuredContent?.accounts ?? []) as { acc_id: string; env: string }[];
    for (const account of list) {
      const args = { acc_id: account.acc_id, env: account.env };
      await call('futu_get_positions', args);
      await call('futu_get_orders', args);
      await call('futu_get_deals', args);
    }

    say('\n"Place a buy order for 100 shares of Tencent."');
    const refused = await call('futu_place_order', { symbol: 'HK.00700', side: 'BUY', qty: 100, price: 350, env: 'real' });
    say(refused.isError ? '    Expected: this key is read-only.' : '    UNEXPECTED: the order was not refused!');
  } finally {
    await client.close();
  }
  await new Promise((resolve) => setTimeout(resolve, 200));

  say('\nAudit queries (from the seeds):');
  runQuery('# What did Claude look at this week?', 'select(.key_id=="claude-analyst" and .iface=="mcp")', true);
  runQuery('# Rejected calls (insufficient scope)', 'select(.key_id=="claude-analyst" and .outcome=="reject")', false);
  const verify = spawnSync(process.execPath, [cli('futucli'), 'audit', 'verify', auditLog], { encoding: 'utf8' });
  say(`\n$ futucli audit verify ${auditLog}\n${verify.stdout.trim()}`);
  say(`\nDemo files are in ${work}`);
}

/** Runs the seed's jq filter with jq itself when installed, else the same filter in JavaScript. */
function runQuery(title: string, filter: string, tail: boolean): void {
  say(`\n${title}`);
  say(`$ jq -c '${filter}' ${auditLog}${tail ? ' | tail -100' : ''}`);
  const jq = spawnSync('jq', ['-c', filter, auditLog], { encoding: 'utf8' });
  let lines: string[];
  if (jq.error === undefined && jq.status === 0) {
    lines = jq.stdout.trim().split('\n').filter(Boolean);
  } else {
    say('(jq is not installed; the same filter evaluated in JavaScript)');
    const outcome = filter.includes('"reject"') ? 'reject' : undefined;
    lines = fs
      .readFileSync(auditLog, 'utf8')
      .trim()
      .split('\n')
      .filter((line) => {
        const r = JSON.parse(line) as Record<string, unknown>;
        return r.key_id === 'claude-analyst' && (outcome ? r.outcome === outcome : r.iface === 'mcp');
      });
  }
  for (const line of tail ? lines.slice(-100) : lines) {
    const r = JSON.parse(line) as Record<string, unknown>;
    say(`  #${r.seq} ${r.timestamp} ${r.event} ${r.tool ?? ''} ${r.decision ?? ''}/${r.outcome}${r.reason ? ` — ${r.reason}` : ''}`);
  }
}

await main();

/**
 * The user's "LLM as quant research assistant" case, as written: a read-only, machine-bound,
 * 90-day `claude-analyst` key spawned over stdio by the client, a `claude-bot` trade:simulate key
 * writing to the same audit file at the same time, the seeds' jq queries over that file, and the
 * keys.json copied to another machine.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { JQ, serviceTest } from '../helpers/systemService.js';
import { E2eRun, expectRefusal, jq, readAudit, tradeOk, type StdioServerClient } from './helpers.js';

describe('seed: read-only analyst key over stdio, audited and queried with jq', () => {
  const run = new E2eRun('seeds');
  let keysFile: string;
  let machineA: string;
  let keys: Record<string, string>;
  const audit = 'futu-mcp-audit.jsonl';

  before(async () => {
    keysFile = run.path('keys.json');
    machineA = run.path('machine-a');
    writeFileSync(machineA, 'analyst-laptop\n');
    keys = await run.genKeys(keysFile, [
      {
        id: 'claude-analyst',
        scopes: ['qot:read', 'acc:read'],
        flags: ['--expires', '90d', '--bind-this-machine'],
        env: { FUTU_MCP_MACHINE_ID_FILE: machineA },
      },
      {
        id: 'claude-bot',
        scopes: ['qot:read', 'acc:read', 'trade:simulate'],
        flags: ['--allowed-markets', 'HK,US', '--max-order-value', '50000', '--max-orders-per-minute', '3'],
      },
    ]);
  });
  after(() => run.dispose());

  it('the analyst reads, is refused an order with "missing scope trade:real", while the bot trades into the same audit file', async () => {
    const env = { FUTU_MCP_MACHINE_ID_FILE: machineA };
    const [analyst, bot] = await Promise.all([
      run.connectStdio('v2', { name: 'analyst', audit, keysFile, apiKey: keys['claude-analyst'], env }),
      run.connectStdio('v1', { name: 'bot', audit, keysFile, apiKey: keys['claude-bot'], env }),
    ]);
    const read = async (client: StdioServerClient, tool: string, args: Record<string, unknown>) => {
      const result = await client.callTool(tool, args);
      assert.equal(result.isError, undefined, `${tool}: ${JSON.stringify(result.content)}`);
    };
    // "Show me the latest quotes for Tencent and Apple" / "What do I hold? What trades executed today?"
    // Both servers append to one file concurrently; the chain has to stay intact.
    await Promise.all([
      (async () => {
        await read(analyst, 'futu_get_quote', { symbols: ['HK.00700', 'US.AAPL'] });
        await read(analyst, 'futu_get_snapshot', { symbols: ['HK.00700', 'US.AAPL'] });
        await read(analyst, 'futu_get_kline', { symbol: 'HK.00700', kl_type: 'day', num: 20 });
        await read(analyst, 'futu_list_accounts', {});
        await read(analyst, 'futu_get_positions', { market: 'HK', env: 'real' });
        await read(analyst, 'futu_get_deals', { market: 'US', env: 'real' });
      })(),
      (async () => {
        for (let i = 0; i < 3; i++) await tradeOk(bot, 'futu_place_order', { symbol: 'HK.00700', side: 'BUY', qty: 100, price: 300 });
        await read(bot, 'futu_get_orders', { market: 'HK' });
      })(),
    ]);
    // "Place a buy order for 100 shares of Tencent." — in the real account.
    await expectRefusal(analyst, { auditLog: analyst.auditLog }, {
      tool: 'futu_place_order',
      args: { symbol: 'HK.00700', side: 'BUY', qty: 100, price: 350, env: 'real' },
      code: 'MISSING_SCOPE',
      message: 'missing scope trade:real',
      keyId: 'claude-analyst',
      scope: 'trade:real',
    });
    // The bot's 4th order in the minute.
    await expectRefusal(bot, { auditLog: bot.auditLog }, {
      tool: 'futu_place_order',
      args: { symbol: 'HK.00700', side: 'BUY', qty: 100, price: 300 },
      code: 'LIMIT_EXCEEDED',
      message: 'limit check failed: rate limit (3 in 60s, cap 3)',
      keyId: 'claude-bot',
    });
    await analyst.close();
    await bot.close();
  });

  serviceTest('jq: "what did Claude look at" returns exactly the analyst\'s calls', JQ, () => {
    const file = run.path(audit);
    const seen = jq('select(.key_id=="claude-analyst" and .iface=="mcp")', file);
    assert.deepEqual(
      seen.map((r) => [r.event, r.tool, r.outcome]),
      [
        ['tool_call', 'futu_get_quote', 'success'],
        ['tool_call', 'futu_get_snapshot', 'success'],
        ['tool_call', 'futu_get_kline', 'success'],
        ['tool_call', 'futu_list_accounts', 'success'],
        ['tool_call', 'futu_get_positions', 'success'],
        ['tool_call', 'futu_get_deals', 'success'],
        ['tool_call', 'futu_place_order', 'reject'],
      ],
    );
    for (const r of seen) assert.equal(r.transport, 'stdio');
    // The file really holds both keys' records, interleaved: the filter is doing the work.
    const all = readAudit(file);
    assert.equal(all.filter((r) => r.key_id === 'claude-bot' && r.event === 'tool_call').length, 5);
    assert.equal(all.filter((r) => r.event === 'startup').length, 2);
  }, it);

  serviceTest('jq: "rejected calls" returns the refused order with its reason', JQ, () => {
    const rejected = jq('select(.key_id=="claude-analyst" and .outcome=="reject")', run.path(audit));
    assert.equal(rejected.length, 1);
    assert.deepEqual(
      { tool: rejected[0]!.tool, code: rejected[0]!.code, reason: rejected[0]!.reason, scope: rejected[0]!.scope, decision: rejected[0]!.decision },
      { tool: 'futu_place_order', code: 'MISSING_SCOPE', reason: 'missing scope trade:real', scope: 'trade:real', decision: 'deny' },
    );
    const botRejects = jq('select(.key_id=="claude-bot" and .outcome=="reject")', run.path(audit));
    assert.deepEqual(botRejects.map((r) => r.reason), ['limit check failed: rate limit (3 in 60s, cap 3)']);
  }, it);

  it('keys.json copied to another machine does not work there: key not bound to this machine', async () => {
    const elsewhere = run.path('elsewhere');
    mkdirSync(elsewhere, { mode: 0o700 });
    const copied = `${elsewhere}/keys.json`;
    copyFileSync(keysFile, copied);
    const machineB = run.path('machine-b');
    writeFileSync(machineB, 'some-other-host\n');
    const client = await run.connectStdio('v1', {
      name: 'elsewhere',
      keysFile: copied,
      apiKey: keys['claude-analyst'],
      env: { FUTU_MCP_MACHINE_ID_FILE: machineB },
    });
    await expectRefusal(client, { auditLog: client.auditLog }, {
      tool: 'futu_get_quote',
      args: { symbol: 'HK.00700' },
      code: 'KEY_NOT_BOUND',
      message: 'key not bound to this machine',
      keyId: 'claude-analyst',
      scope: 'qot:read',
    });
    // An unbound key in the same copied file still works there.
    const bot = await run.connectStdio('v2', { name: 'elsewhere-bot', keysFile: copied, apiKey: keys['claude-bot'], env: { FUTU_MCP_MACHINE_ID_FILE: machineB } });
    assert.equal((await bot.callTool('futu_get_quote', { symbol: 'HK.00700' })).isError, undefined);
  });

  it('leaves verifiable audit chains and no secret in audit files or logs', async () => {
    await run.assertCleanFinish();
  });
});

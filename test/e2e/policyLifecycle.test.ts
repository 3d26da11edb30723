/**
 * Issue 16 over real HTTP: organisation policies in a live server (the org rule decides, the
 * .org version is recorded, the permit guard holds at start), a shadow policy set beside the active one (audit `shadow` field and
 * futu_policy_shadow_disagreements_total), the decision log of a mixed session (secret scan
 * included, via E2eRun), and `futucli policy replay` of that log against a candidate set that
 * tightens one limit, which must give exactly the expected diff.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { defaultPolicyPaths } from '../../src/authz/policySet.js';
import { childEnv, runFutucliAsync } from '../helpers/futucli.js';
import { auditHead, E2eRun, FUTU_MCP, onlyRecordAfter, READ, sample, SIM, type HttpServerProcess, type McpTestClient } from './helpers.js';

const BOT = 'mixed-bot';
const BOT_FLAGS = ['--allowed-markets', 'HK,US', '--max-order-value', '50000'];
const order = (price: number) => ({ symbol: 'HK.00700', side: 'BUY', order_type: 'LIMIT', qty: 100, price });

function forbid(id: string, code: string, actions: string, when: string): string {
  return `@id("${id}")\n@code("${code}")\n@priority("85")\n@message("${id}")\nforbid (principal is Futu::ApiKey, ${actions}, resource)\nwhen { ${when} };\n`;
}

/** A copy of the shipped policies (tests left out) changed by `edit`; returns its directory. */
function candidateSet(dir: string, edit: (policiesDir: string) => void): string {
  cpSync(defaultPolicyPaths().policiesDir, dir, { recursive: true, filter: (src) => !src.includes(`${join(defaultPolicyPaths().policiesDir, 'tests')}`) });
  edit(dir);
  return dir;
}

function decisionLines(file: string): Record<string, unknown>[] {
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

describe('policy lifecycle over HTTP', () => {
  const run = new E2eRun('policy-lifecycle');
  let keysFile: string;
  let keys: Record<string, string>;

  before(async () => {
    keysFile = run.path('keys.json');
    keys = await run.genKeys(keysFile, [
      { id: BOT, scopes: SIM, flags: BOT_FLAGS },
      { id: 'reader', scopes: READ },
      { id: 'desk', scopes: SIM },
    ]);
  });
  after(() => run.dispose());

  it('a server with --org-policies decides with the org rule under the .org version; an org permit stops the start unless --allow-org-permits', async () => {
    const example = join(defaultPolicyPaths().policiesDir, 'tests', 'org-example');
    const validated = await runFutucliAsync(['-o', 'json', 'policy', 'validate', '--org-policies', example]);
    assert.equal(validated.status, 0, validated.stderr + validated.stdout);
    const orgVersion = (JSON.parse(validated.stdout) as { version: string }).version;
    assert.match(orgVersion, /^\d+\.\d+\.\d+\+[0-9a-f]{12}\.org\.[0-9a-f]{12}$/);

    const server = await run.startHttp({ name: 'org', keysFile, extraArgs: ['--org-policies', example] });
    const desk = await run.connectHttp('v2', server.url, keys.desk!);
    const placed = async (price: number) => {
      const seq = auditHead(server.auditLog);
      await desk.callTool('futu_place_order', order(price));
      return onlyRecordAfter(server.auditLog, seq, { event: 'tool_call', tool: 'futu_place_order' });
    };
    const small = await placed(300); // HKD 30,000
    assert.deepEqual([small.decision, small.policies, small.policy_version], ['allow', ['permit-trade-simulate'], orgVersion]);
    const large = await placed(1001); // HKD 100,100: the org rule asks a human
    assert.deepEqual([large.decision, large.code, large.policies, large.policy_version], ['deny', 'CONFIRMATION_REQUIRED', ['org-confirm-large-orders'], orgVersion]);
    assert.match(String(large.reason), /^orders above HKD 100,000 need a human's confirmation \(this one: HKD 100,100\.00\)/);
    await server.stop();
    // The refusal that asks a human is a Cedar decision like any other: it has its decision log line,
    // and replayed without the org directory it is the one call newly allowed, under the org rule.
    const logged = decisionLines(server.decisionLog).filter((l) => l.action === 'futu_place_order');
    assert.deepEqual(logged.map((l) => [l.decision, l.code, l.policies, l.policy_version]), [
      ['allow', 'ALLOW', ['permit-trade-simulate'], orgVersion],
      ['deny', 'CONFIRMATION_REQUIRED', ['org-confirm-large-orders'], orgVersion],
    ]);
    const withoutOrg = await runFutucliAsync(['-o', 'json', 'policy', 'replay', '--decisions', server.decisionLog]);
    assert.equal(withoutOrg.status, 0, withoutOrg.stderr + withoutOrg.stdout);
    const replayed = JSON.parse(withoutOrg.stdout) as { newly_denied: number; newly_allowed: number; by_policy: unknown[] };
    assert.deepEqual([replayed.newly_denied, replayed.newly_allowed, replayed.by_policy], [0, 1, [{ policy: 'org-confirm-large-orders', newly_denied: 0, newly_allowed: 1 }]]);

    // An org directory holding a permit: the server refuses to start without --allow-org-permits.
    const permits = run.path('org-permits');
    mkdirSync(permits);
    writeFileSync(join(permits, 'wide.cedar'), '@id("org-wide")\n@code("ALLOW")\n@message("m")\npermit (principal, action, resource);\n');
    const child = spawn(
      process.execPath,
      [FUTU_MCP, '--gateway', 'sim', '--keys-file', keysFile, '--state-dir', run.path('org-permits.state'), '--audit-log', run.path('org-permits.audit.jsonl'), '--http-listen', '127.0.0.1:0', '--org-policies', permits],
      { env: childEnv(), stdio: ['ignore', 'ignore', 'pipe'] },
    );
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    const status = await new Promise<number | null>((resolve) => child.on('close', resolve));
    assert.equal(status, 1, stderr);
    assert.match(stderr, /wide\.cedar:1: policy \\?"org-wide\\?" is a permit: .*--allow-org-permits/);
    const accepted = await run.startHttp({ name: 'org-permits-accepted', keysFile, extraArgs: ['--org-policies', permits, '--allow-org-permits'] });
    const seq = auditHead(accepted.auditLog);
    await (await run.connectHttp('v2', accepted.url, keys.reader!)).callTool('futu_ping', {});
    const ping = onlyRecordAfter(accepted.auditLog, seq, { event: 'tool_call', tool: 'futu_ping' });
    assert.match(String(ping.policy_version), /\.org\.[0-9a-f]{12}$/);
    await accepted.stop();
  });

  it('a shadow set never changes a call; its disagreements reach the audit record and the metric', async () => {
    const shadowDir = candidateSet(run.path('shadow-policies'), (dir) => {
      writeFileSync(
        join(dir, 'candidate.cedar'),
        forbid('no-alibaba-quotes', 'POLICY_DENIED', 'action == Futu::Action::"futu_get_quote"', 'context.symbol == "HK.09988"') +
          forbid('no-orders-above-30k', 'LIMIT_EXCEEDED', 'action in Futu::Action::"trade"', 'context.addedValue > 0 && context.orderValue > 3000000'),
      );
      const limits = join(dir, 'limits.cedar');
      writeFileSync(limits, readFileSync(limits, 'utf8').replace('!principal.markets.contains(context.market)', '!principal.markets.contains(context.market) && context.market != "SH"'));
    });
    const validated = await runFutucliAsync(['-o', 'json', 'policy', 'validate', '--policies', shadowDir]);
    assert.equal(validated.status, 0, validated.stderr + validated.stdout);
    const shadowVersion = (JSON.parse(validated.stdout) as { version: string }).version;

    const server = await run.startHttp({ name: 'shadow', keysFile, extraArgs: ['--shadow-policies', shadowDir] });
    const client = await run.connectHttp('v2', server.url, keys[BOT]!);
    const pingSeq = auditHead(server.auditLog);
    assert.equal((await client.callTool('futu_ping', {})).isError, undefined);
    const activeVersion = onlyRecordAfter(server.auditLog, pingSeq, { event: 'tool_call', tool: 'futu_ping' }).policy_version;
    assert.notEqual(activeVersion, shadowVersion);

    // Agreement: no shadow field.
    const agreed = await quote(client, server, 'HK.00700');
    assert.equal(agreed.result.isError, undefined);
    assert.equal(agreed.record.shadow, undefined);

    // would_deny, twice (the second read is a decision-cache hit and must carry the verdict too).
    for (let i = 0; i < 2; i++) {
      const { result, record } = await quote(client, server, 'HK.09988');
      assert.equal(result.isError, undefined, 'the active set decides: the quote is served');
      assert.deepEqual([record.decision, record.outcome, record.policies], ['allow', 'success', ['permit-qot-read']]);
      assert.deepEqual(record.shadow, { decision: 'deny', code: 'POLICY_DENIED', policies: ['no-alibaba-quotes'], policy_version: shadowVersion });
    }

    // would_allow: the key may not read SH; the candidate would let it.
    const refused = await quote(client, server, 'SH.600519');
    assert.equal(refused.result.isError, true);
    assert.deepEqual([refused.record.decision, refused.record.code, refused.record.policies], ['deny', 'LIMIT_EXCEEDED', ['market-not-allowed']]);
    assert.deepEqual(refused.record.shadow, { decision: 'allow', code: 'ALLOW', policies: ['permit-qot-read'], policy_version: shadowVersion });

    // A trade (decided with the limits ledger's reservation) carries the verdict too.
    const orderSeq = auditHead(server.auditLog);
    const placed = await client.callTool('futu_place_order', order(350)); // HKD 35,000
    assert.equal(placed.isError, undefined, JSON.stringify(placed.content));
    const orderRecord = onlyRecordAfter(server.auditLog, orderSeq, { event: 'tool_call', tool: 'futu_place_order' });
    assert.deepEqual([orderRecord.decision, orderRecord.policies], ['allow', ['permit-trade-simulate']]);
    assert.deepEqual(orderRecord.shadow, { decision: 'deny', code: 'LIMIT_EXCEEDED', policies: ['no-orders-above-30k'], policy_version: shadowVersion });

    const metrics = await server.metrics();
    assert.equal(sample(metrics, 'futu_policy_shadow_disagreements_total', { kind: 'would_deny' }), 3);
    assert.equal(sample(metrics, 'futu_policy_shadow_disagreements_total', { kind: 'would_allow' }), 1);

    // SIGHUP with a broken candidate: the reload (off-thread) succeeds for the active set, says why
    // the candidate was kept, and the previous candidate goes on comparing.
    writeFileSync(join(shadowDir, 'broken.cedar'), 'forbid (principal principal, action, resource);');
    const hupSeq = auditHead(server.auditLog);
    await server.hup();
    const reload = onlyRecordAfter(server.auditLog, hupSeq, { event: 'reload' });
    assert.equal(reload.outcome, 'success');
    assert.match(String(reload.reason), new RegExp(`^shadow policies kept ${shadowVersion.replace(/[.+]/g, '\\$&')}: broken\\.cedar:1:19: unexpected token \`principal\``));
    const kept = await quote(client, server, 'HK.09988');
    assert.deepEqual(kept.record.shadow, { decision: 'deny', code: 'POLICY_DENIED', policies: ['no-alibaba-quotes'], policy_version: shadowVersion });
    await server.stop();
  });

  it('the decision log of a mixed session replays unchanged against the same set and with exactly the expected diff against a tighter one', async () => {
    const server = await run.startHttp({ name: 'replay', keysFile });
    const bot = await run.connectHttp('v2', server.url, keys[BOT]!);
    const reader = await run.connectHttp('v1', server.url, keys.reader!);
    const ok = async (client: McpTestClient, tool: string, args: Record<string, unknown>, expectError = false) => {
      const result = await client.callTool(tool, args);
      assert.equal(result.isError === true, expectError, `${tool} ${JSON.stringify(args)}: ${JSON.stringify(result.content)}`);
    };
    await ok(bot, 'futu_get_quote', { symbol: 'HK.00700' });
    await ok(bot, 'futu_get_quote', { symbol: 'SH.600519' }, true);
    await ok(bot, 'futu_list_accounts', {});
    await ok(bot, 'futu_place_order', order(200)); // HKD 20,000
    await ok(bot, 'futu_place_order', order(350)); // HKD 35,000: the candidate's cap is 30,000
    await ok(bot, 'futu_place_order', order(600), true); // HKD 60,000: over the key's 50,000 either way
    await ok(reader, 'futu_place_order', order(200), true); // the scope gate: no Cedar decision, no line
    await ok(reader, 'futu_get_quote', { symbol: 'US.AAPL' });
    await server.stop();

    const lines = decisionLines(server.decisionLog);
    assert.deepEqual(
      lines.map((l) => [(l.principal as { id: string }).id, l.action, l.decision, l.code, l.policies]),
      [
        [BOT, 'futu_get_quote', 'allow', 'ALLOW', ['permit-qot-read']],
        [BOT, 'futu_get_quote', 'deny', 'LIMIT_EXCEEDED', ['market-not-allowed']],
        [BOT, 'futu_list_accounts', 'allow', 'ALLOW', ['permit-acc-read']],
        [BOT, 'futu_place_order', 'allow', 'ALLOW', ['permit-trade-simulate']],
        [BOT, 'futu_place_order', 'allow', 'ALLOW', ['permit-trade-simulate']],
        [BOT, 'futu_place_order', 'deny', 'LIMIT_EXCEEDED', ['order-value-limit']],
        ['reader', 'futu_get_quote', 'allow', 'ALLOW', ['permit-qot-read']],
      ],
    );
    // The request as Cedar evaluated it: the key's entity attributes, never its hash.
    const placed = lines[4]!;
    assert.deepEqual(Object.keys(placed).sort(), ['action', 'code', 'context', 'decision', 'policies', 'policy_version', 'principal', 'required_scope', 'resource', 'timestamp']);
    assert.deepEqual(Object.keys(placed.principal as object).sort(), ['attrs', 'id', 'type']);
    assert.equal((placed.principal as { attrs: { maxOrderValue: number } }).attrs.maxOrderValue, 5_000_000);
    assert.deepEqual([(placed.context as { orderValue: number }).orderValue, placed.required_scope], [3_500_000, 'trade:simulate']);
    assert.doesNotMatch(readFileSync(server.decisionLog, 'utf8'), /"hash"|fc_[0-9a-f]{8}/);

    // Against the set that decided them: nothing changes, and --fail-on-change passes.
    const same = await runFutucliAsync(['-o', 'json', 'policy', 'replay', '--decisions', server.decisionLog, '--fail-on-change']);
    assert.equal(same.status, 0, same.stderr + same.stdout);
    assert.deepEqual(JSON.parse(same.stdout), {
      candidate_version: placed.policy_version,
      total: 7,
      unchanged: 7,
      newly_denied: 0,
      newly_allowed: 0,
      by_policy: [],
      changes: [],
    });

    // A candidate that caps orders at HKD 30,000: exactly the 35,000 order changes.
    const orgDir = run.path('org-cap');
    mkdirSync(orgDir);
    writeFileSync(join(orgDir, 'cap.cedar'), forbid('org-cap-30k', 'LIMIT_EXCEEDED', 'action in Futu::Action::"trade"', 'context.addedValue > 0 && context.orderValue > 3000000'));
    const tighter = await runFutucliAsync(['-o', 'json', 'policy', 'replay', '--decisions', server.decisionLog, '--org-policies', orgDir, '--fail-on-change']);
    assert.equal(tighter.status, 1, tighter.stderr + tighter.stdout);
    const report = JSON.parse(tighter.stdout) as { candidate_version: string; changes: Record<string, unknown>[] };
    assert.match(report.candidate_version, new RegExp(`^${String(placed.policy_version).replace(/[.+]/g, '\\$&')}\\.org\\.[0-9a-f]{12}$`));
    const resource = placed.resource as { type: string; id: string };
    assert.deepEqual(report, {
      candidate_version: report.candidate_version,
      total: 7,
      unchanged: 6,
      newly_denied: 1,
      newly_allowed: 0,
      by_policy: [{ policy: 'org-cap-30k', newly_denied: 1, newly_allowed: 0 }],
      changes: [
        {
          line: 5,
          timestamp: placed.timestamp,
          action: 'futu_place_order',
          key_id: BOT,
          resource: `${resource.type}::"${resource.id}"`,
          change: 'newly_denied',
          recorded: { decision: 'allow', code: 'ALLOW', policies: ['permit-trade-simulate'], policy_version: placed.policy_version },
          candidate: { decision: 'deny', code: 'LIMIT_EXCEEDED', policies: ['org-cap-30k'] },
        },
      ],
    });
    // A candidate set (--policies) that tightens one shipped limit: orders up to 60 % of the key's
    // max_order_value. The same order changes, now counted under the shipped policy's id.
    const tightened = candidateSet(run.path('tightened'), (dir) => {
      const limits = join(dir, 'limits.cedar');
      const text = readFileSync(limits, 'utf8');
      assert.ok(text.includes('context.orderValue > principal.maxOrderValue'));
      writeFileSync(limits, text.replace('context.orderValue > principal.maxOrderValue', 'context.orderValue * 10 > principal.maxOrderValue * 6'));
    });
    const limit = await runFutucliAsync(['-o', 'json', 'policy', 'replay', '--decisions', server.decisionLog, '--policies', tightened, '--fail-on-change']);
    assert.equal(limit.status, 1, limit.stderr + limit.stdout);
    const limitReport = JSON.parse(limit.stdout) as { candidate_version: string; changes: unknown[] };
    assert.notEqual(limitReport.candidate_version, placed.policy_version);
    assert.deepEqual(limitReport, {
      candidate_version: limitReport.candidate_version,
      total: 7,
      unchanged: 6,
      newly_denied: 1,
      newly_allowed: 0,
      by_policy: [{ policy: 'order-value-limit', newly_denied: 1, newly_allowed: 0 }],
      changes: [{ ...report.changes[0]!, candidate: { decision: 'deny', code: 'LIMIT_EXCEEDED', policies: ['order-value-limit'] } }],
    });

    const human = await runFutucliAsync(['policy', 'replay', '--decisions', server.decisionLog, '--org-policies', orgDir]);
    assert.equal(human.status, 0, 'without --fail-on-change a change is reported, not a failure');
    assert.equal(
      human.stdout,
      [
        `replayed 7 decisions against ${report.candidate_version}: 6 unchanged, 1 newly denied, 0 newly allowed`,
        'by policy:',
        '  org-cap-30k: 1 newly denied, 0 newly allowed',
        'changed decisions:',
        `  line 5 ${String(placed.timestamp)} ${BOT} futu_place_order ${resource.type}::"${resource.id}": allow [permit-trade-simulate] -> deny LIMIT_EXCEEDED [org-cap-30k]`,
        '',
      ].join('\n'),
    );
  });

  it('leaves verifiable audit chains and no secret in audit files, decision logs, logs or /metrics', async () => {
    assert.ok(run.decisionLogs.size >= 2);
    await run.assertCleanFinish();
  });
});

async function quote(client: McpTestClient, server: HttpServerProcess, symbol: string) {
  const seq = auditHead(server.auditLog);
  const result = await client.callTool('futu_get_quote', { symbol });
  const record = onlyRecordAfter(server.auditLog, seq, { event: 'tool_call', tool: 'futu_get_quote' });
  return { result, record };
}

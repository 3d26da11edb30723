import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { AuditLog, INVALID_KEY_ID } from '../../src/audit/index.js';
import { JQ, serviceTest } from '../helpers/systemService.js';
import { readCall, rejectedOrder, systemEvent, tempDir } from './fixtures.js';

/** The audit queries from the quant-research-assistant guide, verbatim. */
const LOOKED_AT_THIS_WEEK = `jq 'select(.key_id=="claude-analyst" and .iface=="mcp")' \\
  ~/Library/Logs/futu-mcp-audit.jsonl | tail -100`;
const REJECTED_CALLS = `jq 'select(.key_id=="claude-analyst" and .outcome=="reject")' \\
  ~/Library/Logs/futu-mcp-audit.jsonl`;

/** Runs a query as the user would, with HOME pointing at a home that holds the log. */
function runQuery(home: string, query: string): Record<string, unknown>[] {
  const run = spawnSync('sh', ['-c', query], { env: { ...process.env, HOME: home }, encoding: 'utf8' });
  assert.equal(run.status, 0, run.stderr);
  // jq pretty-prints: every document starts with "{" and ends with "}" alone on a line.
  return run.stdout
    .split(/^}$/m)
    .filter((chunk) => chunk.trim() !== '')
    .map((chunk) => JSON.parse(`${chunk}}`) as Record<string, unknown>);
}

serviceTest("the guide's jq queries find the analyst's calls and rejections, and nothing else", JQ, async (t) => {
  const home = tempDir(t);
  const audit = AuditLog.open(path.join(home, 'Library', 'Logs', 'futu-mcp-audit.jsonl'));
  t.after(() => audit.close());
  await audit.append(systemEvent({ event: 'startup' }));
  await audit.append(readCall({ tool: 'futu_get_quote' }));
  await audit.append(readCall({ key_id: 'claude-bot', tool: 'futu_get_funds', scope: 'acc:read' }));
  await audit.append(rejectedOrder());
  await audit.append(rejectedOrder({ key_id: INVALID_KEY_ID }));
  await audit.append(systemEvent({ event: 'reload', outcome: 'failure', reason: 'keys file unreadable', code: 'KEYS_INVALID' }));
  await audit.append(readCall({ tool: 'futu_get_positions', scope: 'acc:read', decision: 'allow', outcome: 'failure', code: 'OPEND_ERROR' }));
  assert.equal(fs.statSync(path.join(home, 'Library', 'Logs')).mode & 0o777, 0o700);

  const lookedAt = runQuery(home, LOOKED_AT_THIS_WEEK);
  assert.deepEqual(
    lookedAt.map((r) => [r.seq, r.tool, r.outcome]),
    [
      [2, 'futu_get_quote', 'success'],
      [4, 'futu_place_order', 'reject'],
      [7, 'futu_get_positions', 'failure'],
    ],
  );

  const rejected = runQuery(home, REJECTED_CALLS);
  assert.deepEqual(
    rejected.map((r) => [r.seq, r.tool, r.reason, r.scope]),
    [[4, 'futu_place_order', 'missing scope trade:real', 'trade:real']],
  );
});

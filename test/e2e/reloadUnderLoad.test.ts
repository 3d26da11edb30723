/**
 * A reload does its parsing, validation and policy tests off the request path: calls in flight
 * while thousands of keys and hundreds of extra policies are reloaded are all answered (by the
 * old keys and policies until the new ones are in place), a new key works right after, and a
 * failed policy reload keeps the running set.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { defaultPolicyPaths } from '../../src/authz/policySet.js';
import { readKeysFile, writeKeysFile } from '../../src/keys/file.js';
import { NO_LIMITS, type KeyRecord } from '../../src/keys/types.js';
import { E2eRun, readAudit, READ, type HttpServerProcess, type McpTestClient } from './helpers.js';

const QUOTE = { symbol: 'HK.00700' };
const BULK_KEYS = 5_000;

function bulkKeys(count: number, prefix: string): KeyRecord[] {
  return Array.from({ length: count }, (_, i) => ({
    id: `${prefix}-${i}`,
    hash: createHash('sha256').update(`${prefix}-${i}`).digest('hex'),
    scopes: ['qot:read'],
    limits: NO_LIMITS,
    allowed_machines: null,
    created_at: null,
    expires_at: null,
    note: null,
  }));
}

/** `count` forbids that never match a real symbol: they only make the set large to compile and test. */
function extraPolicies(count: number, tag: string): string {
  let text = '';
  for (let i = 0; i < count; i++) {
    text += `@id("extra-${tag}-${i}")\n@code("LIMIT_EXCEEDED")\n@priority("900")\n@message("extra rule ${i}")\n`;
    text += `forbid (principal is Futu::ApiKey, action in Futu::Action::"symbol-checked", resource) when { context.symbol == "ZZ.${tag}${i}" };\n\n`;
  }
  return text;
}

describe('reload under load', () => {
  const run = new E2eRun('reload-load');
  let keysFile: string;
  let policiesDir: string;
  let keys: Record<string, string>;
  let http: HttpServerProcess;

  before(async () => {
    keysFile = run.path('keys.json');
    policiesDir = run.path('policies');
    cpSync(defaultPolicyPaths().policiesDir, policiesDir, { recursive: true });
    writeFileSync(`${policiesDir}/extra.cedar`, extraPolicies(100, 'a'));
    // Calls keep coming as fast as they are answered: the per-key call-rate cap would refuse them, not the reload.
    keys = await run.genKeys(keysFile, ['load-0', 'load-1', 'load-2', 'load-3'].map((id) => ({ id, scopes: READ, flags: ['--max-calls-per-minute', '1000000'] })));
    writeKeysFile(keysFile, [...readKeysFile(keysFile), ...bulkKeys(BULK_KEYS, 'bulk')]);
    http = await run.startHttp({ name: 'reload-load', keysFile, extraArgs: ['--policies', policiesDir] });
  });
  after(() => run.dispose());

  it('answers every call in flight while keys and policies reload, then serves the new ones; a failed reload keeps the old set', async () => {
    const clients: McpTestClient[] = await Promise.all(['load-0', 'load-1', 'load-2', 'load-3'].map((id) => run.connectHttp('v2', http.url, keys[id]!)));
    const failures: string[] = [];
    let answered = 0;
    let stop = false;
    const loops = clients.map(async (client) => {
      while (!stop) {
        try {
          const result = await client.callTool('futu_get_quote', QUOTE);
          if (result.isError) failures.push(JSON.stringify(result.content));
          answered += 1;
        } catch (err) {
          failures.push(String(err));
        }
      }
    });
    const duringReload = async (change: () => void | Promise<void>): Promise<number> => {
      await change();
      const before = answered;
      await http.hup();
      return answered - before;
    };

    try {
      await new Promise((resolve) => setTimeout(resolve, 200));
      const versionBefore = readAudit(http.auditLog).filter((r) => r.event === 'reload' || r.event === 'startup').at(-1)!.policy_version;

      // 1. More keys (one of them real) and more policies.
      let fresh = '';
      const servedDuringFirst = await duringReload(async () => {
        fresh = await run.genKey(keysFile, 'fresh', READ);
        writeKeysFile(keysFile, [...readKeysFile(keysFile), ...bulkKeys(1_000, 'more')]);
        writeFileSync(`${policiesDir}/extra2.cedar`, extraPolicies(100, 'b'));
      });
      const first = readAudit(http.auditLog).filter((r) => r.event === 'reload').at(-1)!;
      assert.equal(first.outcome, 'success', JSON.stringify(first));
      assert.notEqual(first.policy_version, versionBefore);
      assert.ok(servedDuringFirst > 0, 'calls were served while the reload ran');
      const freshClient = await run.connectHttp('v1', http.url, fresh);
      assert.equal((await freshClient.callTool('futu_get_quote', QUOTE)).isError, undefined);

      // 2. A policy file that does not compile: refused, the running set stays.
      const servedDuringFailed = await duringReload(() => writeFileSync(`${policiesDir}/broken.cedar`, 'forbid (principal, action, resource) when { nonsense };'));
      const failed = readAudit(http.auditLog).filter((r) => r.event === 'reload').at(-1)!;
      assert.equal(failed.outcome, 'failure');
      assert.equal(failed.policy_version, first.policy_version);
      assert.ok(servedDuringFailed > 0);
      assert.equal((await freshClient.callTool('futu_get_quote', QUOTE)).isError, undefined);
    } finally {
      stop = true;
      await Promise.all(loops);
    }
    assert.deepEqual(failures, []);
    const calls = readAudit(http.auditLog).filter((r) => r.event === 'tool_call');
    assert.ok(calls.every((r) => r.outcome === 'success'), 'every call in the audit log succeeded');
  });

  it('leaves verifiable audit chains and no secret in audit files, logs or /metrics', async () => {
    await http.metrics();
    await run.assertCleanFinish();
  });
});

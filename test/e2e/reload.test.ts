/**
 * SIGHUP: key changes made with futucli (or the key store's writer) apply to the very next call
 * of a running server, over stdio and HTTP; a broken keys.json keeps the old keys and leaves a
 * reload failure record in the audit log.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { updateKeysFile } from '../../src/keys/file.js';
import { writeFileWithMode } from '../helpers/futucli.js';
import { childEnv } from '../helpers/futucli.js';
import { mcpPostHeaders, rawHttp, toolCallBody, waitFor } from '../helpers/mcpClients.js';
import {
  auditHead,
  CLIENT_FLAVORS,
  E2eRun,
  expectRefusal,
  FUTU_MCP,
  onlyRecordAfter,
  ORDER,
  READ,
  readAudit,
  SIM,
  type AuditRecord,
  type HttpServerProcess,
  type McpTestClient,
} from './helpers.js';

const QUOTE = { symbol: 'HK.00700' };

async function assertWorks(client: McpTestClient): Promise<void> {
  const result = await client.callTool('futu_get_quote', QUOTE);
  assert.equal(result.isError, undefined, JSON.stringify(result.content));
}

function lastReload(file: string): AuditRecord {
  const reloads = readAudit(file).filter((r) => r.event === 'reload');
  assert.ok(reloads.length > 0, 'a reload record exists');
  return reloads[reloads.length - 1]!;
}

/**
 * A revoked key's record is deleted from keys.json, so the pipeline can no longer match the token:
 * refused as `invalid API key` under `<invalid>`. (`key revoked` under the key's id would be the
 * friendlier answer; either way the call is refused and the record says so consistently.)
 */
/** The seeds' `key revoked`, audited under the revoked key's own id (not as an unknown key). */
function assertRevokedRecord(record: AuditRecord, keyId: string): void {
  assert.deepEqual([record.outcome, record.code, record.reason, record.key_id], ['reject', 'KEY_REVOKED', 'key revoked', keyId]);
}

describe('SIGHUP over stdio', () => {
  const run = new E2eRun('reload-stdio');
  let keysFile: string;
  let keys: Record<string, string>;

  before(async () => {
    keysFile = run.path('keys.json');
    keys = await run.genKeys(keysFile, CLIENT_FLAVORS.map((flavor) => ({ id: `agent-${flavor}`, scopes: SIM })));
  });
  after(() => run.dispose());

  for (const flavor of CLIENT_FLAVORS) {
    it(`${flavor}: expiry, scope changes and revocation apply to the very next call`, async () => {
      const id = `agent-${flavor}`;
      const client = await run.connectStdio(flavor, { name: `stdio-${flavor}`, keysFile, apiKey: keys[id] });
      const server = { auditLog: client.auditLog };
      await assertWorks(client);

      // Expired in keys.json + SIGHUP → "key expired" on the next call.
      run.expireKey(keysFile, id);
      await client.hup();
      assert.equal(lastReload(client.auditLog).outcome, 'success');
      await expectRefusal(client, server, { tool: 'futu_get_quote', args: QUOTE, code: 'KEY_EXPIRED', message: 'key expired', keyId: id, scope: 'qot:read' });

      // Extended again, minus trade:simulate → reads work, orders need the scope.
      updateKeysFile(keysFile, (records) => records.map((r) => (r.id === id ? { ...r, expires_at: null, scopes: ['qot:read', 'acc:read'] } : r)));
      await client.hup();
      await assertWorks(client);
      await expectRefusal(client, server, {
        tool: 'futu_place_order',
        args: ORDER,
        code: 'MISSING_SCOPE',
        message: 'missing scope trade:simulate',
        keyId: id,
      });

      // Revoked with futucli + SIGHUP → refused on the very next call.
      await run.revokeKey(keysFile, id);
      await client.hup();
      const seq = auditHead(client.auditLog);
      const refused = await client.callTool('futu_get_quote', QUOTE);
      assert.equal(refused.isError, true);
      const record = onlyRecordAfter(client.auditLog, seq, { event: 'tool_call', tool: 'futu_get_quote' });
      assertRevokedRecord(record, id);
      assert.equal(refused.content[0]?.text, `error (${String(record.code)}): ${String(record.reason)}`);
    });
  }

  it('leaves verifiable audit chains and no secret in audit files or logs', async () => {
    await run.assertCleanFinish();
  });
});

describe('SIGHUP over HTTP', () => {
  const run = new E2eRun('reload-http');
  let keysFile: string;
  let keys: Record<string, string>;
  let http: HttpServerProcess;

  before(async () => {
    keysFile = run.path('keys.json');
    keys = await run.genKeys(keysFile, [
      { id: 'doomed', scopes: SIM },
      { id: 'survivor', scopes: SIM },
      ...CLIENT_FLAVORS.map((flavor) => ({ id: `steady-${flavor}`, scopes: READ })),
    ]);
    http = await run.startHttp({ name: 'reload-http', keysFile });
  });
  after(() => run.dispose());

  it('a revoked key is refused on its next request (bearer and api_key); other keys keep working', async () => {
    const doomed = await run.connectHttp('v2', http.url, keys.doomed!);
    const survivor = await run.connectHttp('v1', http.url, keys.survivor!);
    await assertWorks(doomed);

    await run.revokeKey(keysFile, 'doomed');
    await http.hup();
    assert.equal(lastReload(http.auditLog).outcome, 'success');

    // Its open session is no use: every request is authenticated again, and the 401 is audited.
    const before401 = auditHead(http.auditLog);
    await assert.rejects(doomed.callTool('futu_get_quote', QUOTE), /key revoked/);
    assertRevokedRecord(onlyRecordAfter(http.auditLog, before401, { event: 'http_auth' }), 'doomed');
    // As a per-call override it is refused by the pipeline, audited, never replaced by the bearer.
    const seq = auditHead(http.auditLog);
    const refused = await survivor.callTool('futu_place_order', { ...ORDER, api_key: keys.doomed });
    assert.equal(refused.isError, true);
    const record = onlyRecordAfter(http.auditLog, seq, { event: 'tool_call', tool: 'futu_place_order' });
    assertRevokedRecord(record, 'doomed');
    assert.equal(readAudit(http.auditLog).filter((r) => r.seq > seq && r.event === 'tool_intent').length, 0);
    await assertWorks(survivor);

    // The id re-created for a new secret is a new key: it may not take over the old key's session.
    const reborn = await run.genKey(keysFile, 'doomed', SIM);
    await http.hup();
    const before403 = auditHead(http.auditLog);
    const hijack = await rawHttp(http.url, { method: 'POST', headers: mcpPostHeaders(reborn, doomed.sessionId), body: toolCallBody('futu_get_quote', QUOTE) });
    assert.equal(hijack.status, 403);
    assert.match(hijack.body, /this session was opened with a different API key/);
    const mismatch = onlyRecordAfter(http.auditLog, before403, { event: 'http_auth' });
    assert.deepEqual([mismatch.code, mismatch.key_id], ['session_key_mismatch', 'doomed']);
    await assertWorks(await run.connectHttp('v2', http.url, reborn));
  });

  for (const flavor of CLIENT_FLAVORS) {
    it(`${flavor}: a broken keys.json on SIGHUP keeps the old keys and audits the failed reload`, async () => {
      const id = `steady-${flavor}`;
      const client = await run.connectHttp(flavor, http.url, keys[id]!);
      await assertWorks(client);
      const good = readFileSync(keysFile, 'utf8');

      // Truncated mid-way, with a plaintext key in the broken part: the reload must fail without quoting it.
      writeFileWithMode(keysFile, `${good.slice(0, good.length / 2)} "${keys[id]}", oops`);
      const seq = auditHead(http.auditLog);
      await http.hup();
      const failed = onlyRecordAfter(http.auditLog, seq, { event: 'reload' });
      assert.equal(failed.outcome, 'failure');
      assert.equal(failed.code, 'RELOAD_FAILED');
      assert.match(failed.reason as string, /^keys\.json: not valid JSON/);
      assert.match(http.stderr(), /"msg":"keys reload failed; previous keys stay in force"/);

      // The old keys are still in force, on the open session and on a new one.
      await assertWorks(client);
      await assertWorks(await run.connectHttp(flavor, http.url, keys[id]!));
      await expectRefusal(client, http, {
        tool: 'futu_place_order',
        args: ORDER,
        code: 'MISSING_SCOPE',
        message: 'missing scope trade:simulate',
        keyId: id,
      });

      // Repaired + SIGHUP → a successful reload record.
      writeFileWithMode(keysFile, good);
      const repairedAt = auditHead(http.auditLog);
      await http.hup();
      assert.equal(onlyRecordAfter(http.auditLog, repairedAt, { event: 'reload' }).outcome, 'success');
      await assertWorks(client);
    });
  }

  it('leaves verifiable audit chains and no secret in audit files, logs or /metrics', async () => {
    await http.metrics();
    await run.assertCleanFinish();
  });
});

describe('SIGHUP while starting', () => {
  const run = new E2eRun('reload-starting');
  after(() => run.dispose());

  it('is not fatal: the server starts, then reloads', async () => {
    const keysFile = run.path('keys.json');
    await run.genKeys(keysFile, [{ id: 'reader', scopes: READ }]);
    const child = spawn(process.execPath, [FUTU_MCP, '--gateway', 'sim', '--keys-file', keysFile, '--state-dir', run.path('state'), '--http-listen', '127.0.0.1:0'], {
      env: childEnv({ FUTU_LOG_LEVEL: 'debug' }),
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    try {
      // Logged right after the handler is installed, before the keys and policies are loaded.
      await waitFor('startup to begin', () => stderr.includes('"msg":"no --audit-log: tool calls are not recorded"'));
      assert.ok(!stderr.includes('"msg":"futu-mcp ready"'));
      child.kill('SIGHUP');
      await waitFor('the deferred reload', () => {
        if (child.exitCode !== null || child.signalCode !== null) throw new Error(`futu-mcp died: ${child.signalCode ?? child.exitCode}`);
        return stderr.includes('"msg":"reload finished"');
      });
      assert.ok(stderr.indexOf('"msg":"futu-mcp ready"') < stderr.indexOf('"msg":"reload finished"'));
    } finally {
      child.kill('SIGTERM');
      assert.equal(await exited, 0);
    }
  });
});

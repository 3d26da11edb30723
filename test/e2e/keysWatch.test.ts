/**
 * keys.json is watched: a revocation made with futucli applies to a running server without
 * SIGHUP, and a broken file keeps the running keys, with the same records SIGHUP would leave.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { writeFileWithMode } from '../helpers/futucli.js';
import { waitFor } from '../helpers/mcpClients.js';
import { auditHead, E2eRun, readAudit, READ, type AuditRecord, type HttpServerProcess } from './helpers.js';

const QUOTE = { symbol: 'HK.00700' };

function reloadsAfter(file: string, seq: number): AuditRecord[] {
  return readAudit(file).filter((r) => r.seq > seq && r.event === 'reload');
}

describe('keys.json watched by a running server (no SIGHUP)', () => {
  const run = new E2eRun('keys-watch');
  let keysFile: string;
  let keys: Record<string, string>;
  let http: HttpServerProcess;

  before(async () => {
    keysFile = run.path('keys.json');
    keys = await run.genKeys(keysFile, [
      { id: 'leaked', scopes: READ },
      { id: 'steady', scopes: READ },
    ]);
    http = await run.startHttp({ name: 'keys-watch', keysFile });
  });
  after(() => run.dispose());

  it('futucli revoke-key alone stops the key on a running server, audited as a reload', async () => {
    const leaked = await run.connectHttp('v2', http.url, keys.leaked!);
    assert.equal((await leaked.callTool('futu_get_quote', QUOTE)).isError, undefined);
    const seq = auditHead(http.auditLog);
    await run.revokeKey(keysFile, 'leaked');
    const [reload] = await waitFor('the watcher reload', () => reloadsAfter(http.auditLog, seq).length > 0 && reloadsAfter(http.auditLog, seq));
    assert.deepEqual([reload!.outcome, reload!.reason, reload!.code], ['success', 'keys file changed', null]);
    await assert.rejects(leaked.callTool('futu_get_quote', QUOTE), /key revoked/);
    const steady = await run.connectHttp('v1', http.url, keys.steady!);
    assert.equal((await steady.callTool('futu_get_quote', QUOTE)).isError, undefined);
  });

  it('a broken keys.json keeps the running keys and records the failed reload', async () => {
    const steady = await run.connectHttp('v1', http.url, keys.steady!);
    const good = readFileSync(keysFile, 'utf8');
    const seq = auditHead(http.auditLog);
    writeFileWithMode(keysFile, `${good.slice(0, good.length / 2)} oops`);
    const [failed] = await waitFor('the failed reload', () => reloadsAfter(http.auditLog, seq).length > 0 && reloadsAfter(http.auditLog, seq));
    assert.equal(failed!.outcome, 'failure');
    assert.equal(failed!.code, 'RELOAD_FAILED');
    assert.match(String(failed!.reason), /^keys\.json: not valid JSON/);
    assert.equal((await steady.callTool('futu_get_quote', QUOTE)).isError, undefined);
    // Repaired: reloaded once more, and nothing changes for the steady key.
    writeFileWithMode(keysFile, good);
    await waitFor('the repaired reload', () => reloadsAfter(http.auditLog, seq).some((r) => r.outcome === 'success'));
    assert.equal(reloadsAfter(http.auditLog, seq).length, 2, 'one reload per change');
    assert.equal((await steady.callTool('futu_get_quote', QUOTE)).isError, undefined);
  });

  it('leaves verifiable audit chains and no secret in audit files or logs', async () => {
    await run.assertCleanFinish();
  });
});

/** A futu-mcp that cannot start says so in the audit log, instead of recording a successful startup. */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { childEnv } from '../helpers/futucli.js';
import { E2eRun, FUTU_MCP, readAudit, READ } from './helpers.js';

describe('a failed start', () => {
  const run = new E2eRun('startup-failure');
  after(() => run.dispose());

  it('EADDRINUSE: exits 1 and audits the startup as a failure with the reason', async () => {
    const keysFile = run.path('keys.json');
    await run.genKey(keysFile, 'reader', READ);
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    const { port } = taken.address() as { port: number };
    try {
      const auditLog = run.path('audit.jsonl');
      const child = spawn(
        process.execPath,
        [FUTU_MCP, '--gateway', 'sim', '--keys-file', keysFile, '--state-dir', run.path('state'), '--audit-log', auditLog, '--http-listen', `127.0.0.1:${port}`],
        { env: childEnv(), stdio: ['ignore', 'ignore', 'pipe'] },
      );
      let stderr = '';
      child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
      const status = await new Promise<number | null>((resolve) => child.on('close', resolve));
      assert.equal(status, 1, stderr);
      assert.match(stderr, /EADDRINUSE/);
      const records = readAudit(auditLog);
      assert.deepEqual(
        records.map((r) => [r.event, r.outcome]),
        [['startup', 'failure']],
      );
      assert.match(String(records[0]!.reason), new RegExp(`EADDRINUSE.*127\\.0\\.0\\.1:${port}`));
      assert.equal(records[0]!.code, 'STARTUP_FAILED');
    } finally {
      taken.close();
    }
  });
});

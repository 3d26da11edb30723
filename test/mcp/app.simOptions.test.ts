import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { writeKeysFile } from '../../src/keys/file.js';
import { startFutuMcp } from '../../src/mcp/app.js';

test('simOrderRateLimits is refused unless the gateway is the embedded simulator: it can never lift the pacing in front of a real OpenD', async (t) => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'futu-app-sim-options-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const keysFile = path.join(dir, 'keys.json');
  writeKeysFile(keysFile, []);
  for (const simOrderRateLimits of [false, true]) {
    await assert.rejects(
      startFutuMcp({ gateway: '127.0.0.1:1', keysFile, stateDir: path.join(dir, 'state'), simOrderRateLimits }),
      (err: Error & { code?: string }) => err.code === 'INVALID_ARGUMENT' && /only with --gateway sim/.test(err.message),
    );
  }
});

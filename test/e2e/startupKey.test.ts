/**
 * A stdio server whose startup key (FUTU_MCP_API_KEY) is missing or unusable: it says so on
 * stderr at startup, and every call's error says how to fix it, over real stdio with both clients.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { CLIENT_FLAVORS, E2eRun, expectRefusal, READ } from './helpers.js';

const NOT_A_KEY = `fc_${'0'.repeat(64)}`;

/** The messages of the server's warn lines (JSON log lines on stderr). */
function warnings(stderr: string): string[] {
  return stderr
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as { level: string; msg: string })
    .filter((record) => record.level === 'warn')
    .map((record) => record.msg);
}

describe('stdio without a usable startup key', () => {
  const run = new E2eRun('startup-key');
  let keysFile: string;
  let key: string;

  before(async () => {
    keysFile = run.path('keys.json');
    key = await run.genKey(keysFile, 'reader', READ);
  });
  after(() => run.dispose());

  for (const flavor of CLIENT_FLAVORS) {
    it(`${flavor}: no FUTU_MCP_API_KEY: a startup warning, and the error says where the key goes`, async () => {
      const client = await run.connectStdio(flavor, { name: `no-key-${flavor}`, keysFile });
      assert.ok(warnings(client.stderr()).includes('FUTU_MCP_API_KEY is not set: every call will be refused; see futucli gen-key'), client.stderr());
      await expectRefusal(client, { auditLog: client.auditLog }, {
        tool: 'futu_get_quote',
        args: { symbol: 'HK.00700' },
        code: 'KEY_MISSING',
        message:
          "API key missing: set FUTU_MCP_API_KEY in this server's env in the MCP client config (futucli gen-key creates a key), then restart the server",
        keyId: '<missing>',
      });
    });

    it(`${flavor}: an unknown FUTU_MCP_API_KEY: a startup warning, and the error says to replace it`, async () => {
      const client = await run.connectStdio(flavor, { name: `bad-key-${flavor}`, keysFile, apiKey: NOT_A_KEY });
      assert.ok(
        warnings(client.stderr()).includes('FUTU_MCP_API_KEY is not usable (invalid API key): every call will be refused; see futucli list-keys and futucli gen-key'),
        client.stderr(),
      );
      await expectRefusal(client, { auditLog: client.auditLog }, {
        tool: 'futu_get_quote',
        args: { symbol: 'HK.00700' },
        code: 'KEY_INVALID',
        message:
          "invalid API key: FUTU_MCP_API_KEY in this server's env in the MCP client config is not a key of its keys file; put a key from futucli gen-key there and restart the server",
        keyId: '<invalid>',
      });
      assert.ok(!client.stderr().includes(NOT_A_KEY.slice(3)), 'the presented key is not logged');
    });

    it(`${flavor}: a usable startup key: no warning`, async () => {
      const client = await run.connectStdio(flavor, { name: `good-key-${flavor}`, keysFile, apiKey: key });
      assert.equal((await client.callTool('futu_get_quote', { symbol: 'HK.00700' })).isError, undefined);
      assert.doesNotMatch(client.stderr(), /FUTU_MCP_API_KEY/);
    });
  }
});

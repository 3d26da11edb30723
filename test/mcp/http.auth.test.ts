import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { setLogSink } from '../../src/shared/log.js';
import { FutuError } from '../../src/shared/errors.js';
import { CLIENT_FLAVORS, connectHttp, INITIALIZE_BODY, mcpPostHeaders, rawHttp } from '../helpers/mcpClients.js';
import { createEchoServer, startEchoHttpServer, type EchoHttpServer } from '../fixtures/echo-server.js';
import { startHttpServer } from '../../src/mcp/http.js';

const logLines: string[] = [];
setLogSink((line) => logLines.push(line));

const SCOPES = ['qot:read', 'acc:read', 'trade:simulate', 'trade:real', 'trade:unlock'];

describe('HTTP bearer authentication', () => {
  let server: EchoHttpServer;
  let origin: string;
  let metadataUrl: string;
  before(async () => {
    server = await startEchoHttpServer({ docsUrl: 'https://docs.example/futu-mcp/README.md' });
    origin = new URL(server.url).origin;
    metadataUrl = `${origin}/.well-known/oauth-protected-resource/mcp`;
  });
  after(() => server.close());

  it('answers a request without a token 401 with a resource_metadata challenge and no error code', async () => {
    const res = await rawHttp(server.url, { method: 'POST', headers: mcpPostHeaders(), body: INITIALIZE_BODY });
    assert.equal(res.status, 401);
    assert.equal(res.headers['www-authenticate'], `Bearer resource_metadata="${metadataUrl}"`);
    assert.match(JSON.parse(res.body).error.message, /missing bearer token/);
  });

  it('treats a non-Bearer Authorization header as no token', async () => {
    const res = await rawHttp(server.url, { method: 'POST', headers: { ...mcpPostHeaders(), authorization: 'Basic YTpi' }, body: INITIALIZE_BODY });
    assert.equal(res.status, 401);
    assert.doesNotMatch(res.headers['www-authenticate'] ?? '', /error=/);
  });

  it('answers a bad token 401 with error="invalid_token" and the reason', async () => {
    const res = await rawHttp(server.url, { method: 'POST', headers: mcpPostHeaders('fc_stolen_guess'), body: INITIALIZE_BODY });
    assert.equal(res.status, 401);
    assert.equal(
      res.headers['www-authenticate'],
      `Bearer error="invalid_token", error_description="unknown API key", resource_metadata="${metadataUrl}"`,
    );
    assert.equal(JSON.parse(res.body).error.data.reason, 'invalid_token');
  });

  it('refuses GET and DELETE on /mcp without a token too', async () => {
    for (const method of ['GET', 'DELETE']) {
      const res = await rawHttp(server.url, { method, headers: { 'mcp-session-id': 'whatever' } });
      assert.equal(res.status, 401, method);
    }
  });

  for (const flavor of CLIENT_FLAVORS) {
    it(`keeps a ${flavor} client without a valid token out`, async () => {
      await assert.rejects(connectHttp(flavor, { url: server.url }), /401|missing bearer token/);
      await assert.rejects(connectHttp(flavor, { url: server.url, token: 'fc_wrong' }), /401|unknown API key/);
    });
  }

  it('serves the same RFC 9728 metadata at the root and the path-suffixed URL the challenge names', async () => {
    const expected = {
      resource: server.url,
      bearer_methods_supported: ['header'],
      scopes_supported: SCOPES,
      resource_name: 'futu-mcp',
      resource_documentation: 'https://docs.example/futu-mcp/README.md',
    };
    for (const url of [metadataUrl, `${origin}/.well-known/oauth-protected-resource`]) {
      const res = await rawHttp(url);
      assert.equal(res.status, 200, url);
      assert.match(res.headers['content-type'] ?? '', /^application\/json/);
      assert.deepEqual(JSON.parse(res.body), expected);
    }
  });

  it('names resources after the host the client used', async () => {
    const res = await rawHttp(`${origin}/.well-known/oauth-protected-resource/mcp`, { headers: { host: `localhost:${server.port}` } });
    assert.equal(JSON.parse(res.body).resource, `http://localhost:${server.port}/mcp`);
  });

  it('stops a revoked key at its next request inside an open session', async () => {
    server.keys.set('fc_short_lived', 'short-lived');
    const client = await connectHttp('v2', { url: server.url, token: 'fc_short_lived' });
    assert.equal((await client.callTool('whoami')).structuredContent?.session_key_id, 'short-lived');
    server.keys.delete('fc_short_lived');
    await assert.rejects(client.callTool('echo', { text: 'after revocation' }), /401|unknown API key/);
    assert.equal(server.events.some((event) => event.kind === 'call' && event.tool === 'echo'), false);
    await client.close();
  });

  it('never writes a token to the log', () => {
    assert.ok(logLines.length > 0);
    for (const token of ['fc_stolen_guess', 'fc_wrong', 'fc_short_lived', 'fc_alpha_token']) {
      assert.equal(logLines.some((line) => line.includes(token)), false, token);
    }
  });
});

describe('HTTP authentication failures of the key store', () => {
  const failures: Array<[string, unknown]> = [
    ['a FutuError', new FutuError('key_expired', 'key "claude-bot" expired on 2026-01-01')],
    ['any other error', new Error('ENOENT: /etc/futu/keys.json')],
  ];
  for (const [what, error] of failures) {
    it(`answers ${what} 401 with a header-safe description`, async () => {
      const running = await startHttpServer({
        listen: '127.0.0.1:0',
        createServer: () => createEchoServer(),
        authenticate: async () => {
          throw error;
        },
        health: { ready: () => true },
      });
      try {
        const res = await rawHttp(running.url, { method: 'POST', headers: mcpPostHeaders('fc_x'), body: INITIALIZE_BODY });
        assert.equal(res.status, 401);
        const expected = error instanceof FutuError ? "key 'claude-bot' expired on 2026-01-01" : 'invalid API key';
        assert.match(res.headers['www-authenticate'] ?? '', new RegExp(`^Bearer error="invalid_token", error_description="${expected}", resource_metadata="`));
        assert.doesNotMatch(res.body, /ENOENT/);
      } finally {
        await running.close();
      }
    });
  }
});

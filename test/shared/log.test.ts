import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { configureLog, log, setLogSink } from '../../src/shared/log.js';
import { callLog } from '../../src/mcp/server.js';
import { serviceTest, type SystemService } from '../helpers/systemService.js';

const key = `fc_${'ab12'.repeat(16)}`;

function capture(t: { after: (fn: () => void) => void }): string[] {
  const lines: string[] = [];
  setLogSink((line) => lines.push(line));
  t.after(() => {
    setLogSink(undefined);
    configureLog({ format: 'json', level: 'info' });
  });
  return lines;
}

test('log lines censor secret-named fields and plaintext-key-shaped values, nested ones too', (t) => {
  const lines = capture(t);
  log.error('keys reload failed', {
    reason: `keys.json: key "bot": note: expected at most 200 characters, got "${key.slice(0, 40)}… and ${key}"`,
    details: { pasted: [key.toUpperCase()], trade_pwd: 'hunter2' },
    api_key: 'anything',
    headers: { authorization: `Bearer ${key}` },
    short: 'fc_abc',
  });
  assert.equal(lines.length, 1);
  const line = lines[0]!;
  assert.ok(!line.toLowerCase().includes(key.slice(3, 40)), line);
  assert.ok(!line.includes('hunter2'), line);
  const record = JSON.parse(line) as Record<string, unknown>;
  assert.equal(record.level, 'error');
  assert.equal(record.msg, 'keys reload failed');
  assert.match(String(record.time), /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
  assert.equal(record.api_key, '[REDACTED]');
  assert.deepEqual(record.headers, { authorization: '[REDACTED]' });
  assert.equal(record.short, 'fc_abc', 'too short to be a key');
  assert.match(String(record.reason), /^keys\.json: key "bot": note: .* got "fc_\[REDACTED\]… and fc_\[REDACTED\]"$/);
  assert.deepEqual(record.details, { pasted: ['fc_[REDACTED]'], trade_pwd: '[REDACTED]' });
});

test('the message and a child logger\'s bindings are scrubbed as well; the child carries its fields on every line', (t) => {
  const lines = capture(t);
  const call = log.child({ request_id: '7', session_id: 's-1', key_id: 'claude-bot', note: `pasted ${key}` });
  call.warn(`refused ${key}`);
  call.info('second line', { tool: 'futu_get_quote' });
  assert.equal(lines.length, 2);
  for (const line of lines) assert.ok(!line.toLowerCase().includes(key.slice(3, 40)), line);
  const [first, second] = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
  assert.equal(first!.msg, 'refused fc_[REDACTED]');
  assert.equal(first!.note, 'pasted fc_[REDACTED]');
  assert.deepEqual([second!.request_id, second!.session_id, second!.key_id, second!.tool], ['7', 's-1', 'claude-bot', 'futu_get_quote']);
});

test("a tool call's log (callLog) carries the call's request id, session id, transport and key id on every line", (t) => {
  const lines = capture(t);
  const context = { transport: 'http', requestId: '42', sessionId: 'sess-9', bearerToken: key, signal: new AbortController().signal } as const;
  const call = callLog(context, { key_id: 'claude-bot', tool: 'futu_place_order' });
  call.error('audit write failed; withholding the result', { code: 'AUDIT_WRITE_FAILED' });
  call.warn('second');
  assert.equal(lines.length, 2);
  for (const line of lines) {
    const record = JSON.parse(line) as Record<string, unknown>;
    assert.deepEqual(
      [record.request_id, record.session_id, record.transport, record.key_id, record.tool],
      ['42', 'sess-9', 'http', 'claude-bot', 'futu_place_order'],
    );
    assert.ok(!line.includes(key.slice(3)), 'the bearer token is not a binding');
  }
});

test('levels below the threshold are dropped; the pretty format is text for a person, still censored', (t) => {
  const lines = capture(t);
  configureLog({ level: 'warn' });
  log.info('not shown');
  log.warn('shown');
  assert.deepEqual(lines.map((l) => (JSON.parse(l) as { msg: string }).msg), ['shown']);

  configureLog({ format: 'pretty', level: 'info' });
  const before = lines.length;
  log.info('sim: connection initialised', { remote: '127.0.0.1:1234', api_key: key });
  const pretty = lines.slice(before).join('\n');
  assert.throws(() => JSON.parse(pretty), 'not JSON');
  assert.match(pretty, /INFO.*sim: connection initialised/);
  assert.match(pretty, /remote: "127\.0\.0\.1:1234"/);
  assert.ok(!pretty.includes(key.slice(3, 40)) && pretty.includes('[REDACTED]'), pretty);
});

test('futu-mcp --log-format json|pretty picks the format of its own lines on stderr', () => {
  const bin = fileURLToPath(new URL('../../src/cli/futu-mcp.js', import.meta.url));
  // A keys file that does not exist: the server logs why it cannot start, then exits 1.
  const run = (format: string) =>
    spawnSync(process.execPath, [bin, '--log-format', format, '--gateway', 'sim', '--keys-file', '/nonexistent/keys.json'], {
      encoding: 'utf8',
      env: { ...process.env, FUTU_LOG_LEVEL: 'info' },
      timeout: 60_000,
    });
  const json = run('json');
  const first = json.stderr.split('\n').find((l) => l.startsWith('{'));
  assert.ok(first, json.stderr);
  assert.equal(typeof (JSON.parse(first) as { level: unknown }).level, 'string');
  const pretty = run('pretty');
  assert.ok(!pretty.stderr.split('\n').some((l) => l.startsWith('{"')), pretty.stderr);
  assert.match(pretty.stderr, /(INFO|WARN|ERROR)/);
  const bad = run('xml');
  assert.notEqual(bad.status, 0);
  assert.match(bad.stderr, /--log-format.*(pretty|json)/);
});

/** util-linux `script`, to give a child a terminal (a pty) as its stderr; BSD/macOS `script` takes other flags. */
const SCRIPT: SystemService = {
  name: 'script (util-linux)',
  binaries: process.platform === 'linux' ? ['script'] : ['util-linux-script'],
  install: 'apt-get install bsdutils',
};

serviceTest('futu-mcp without --log-format: pretty (coloured) on a terminal, JSON lines otherwise', SCRIPT, () => {
  const bin = fileURLToPath(new URL('../../src/cli/futu-mcp.js', import.meta.url));
  const args = [bin, '--gateway', 'sim', '--keys-file', '/nonexistent/keys.json'];
  const env = { ...process.env, FUTU_LOG_LEVEL: 'info' };
  const piped = spawnSync(process.execPath, args, { encoding: 'utf8', env, timeout: 60_000 });
  assert.ok(piped.stderr.split('\n').some((l) => l.startsWith('{"level":')), piped.stderr);
  // `script -qec CMD /dev/null` runs CMD on a new terminal and copies what it writes there to stdout.
  const command = [process.execPath, ...args].map((a) => `'${a}'`).join(' ');
  const tty = spawnSync('script', ['-qec', command, '/dev/null'], { encoding: 'utf8', env, timeout: 60_000 });
  assert.equal(tty.error, undefined);
  assert.ok(!tty.stdout.split(/\r?\n/).some((l) => l.startsWith('{"')), tty.stdout);
  assert.match(tty.stdout, /\x1b\[\d+m(INFO|WARN|ERROR)\x1b\[39m/, 'levels coloured for a person');
});
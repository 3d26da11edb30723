import { test } from 'node:test';
import assert from 'node:assert/strict';
import { register as globalRegistry } from 'prom-client';
import { classifyLimitReason, classifyPushFilterReason, createMetrics, keyIdLabel, LIMIT_REASONS } from '../../src/mcp/metrics.js';

const PLAINTEXT_KEY = `fc_${'ab12'.repeat(16)}`;

/** The sample lines of one family, without HELP/TYPE. */
function samples(text: string, family: string): string[] {
  return text.split('\n').filter((line) => line.startsWith(`${family}{`) || line.startsWith(`${family} `));
}

test('every family renders with its labels after use', async () => {
  const metrics = createMetrics({ knownTools: ['futu_get_quote', 'futu_place_order'] });
  metrics.authEvent('mcp', 'allow', 'claude-analyst');
  metrics.authEvent('mcp', 'allow', 'claude-analyst');
  metrics.authEvent('mcp', 'reject', '<missing>');
  metrics.limitReject('mcp', 'claude-real', 'RATE_LIMIT');
  metrics.wsPushFiltered('claude-analyst', 'symbol');
  metrics.toolCall('futu_get_quote', 'success', 0.003);
  metrics.toolCall('futu_place_order', 'reject', 0.0002);
  metrics.authzDuration(0.0004);
  metrics.setGatewayUp(true);
  metrics.setPolicyVersion('2026-11-20.1');
  const text = await metrics.render();

  assert.deepEqual(samples(text, 'futu_auth_events_total'), [
    'futu_auth_events_total{iface="mcp",outcome="allow",key_id="claude-analyst"} 2',
    'futu_auth_events_total{iface="mcp",outcome="reject",key_id="<missing>"} 1',
  ]);
  assert.deepEqual(samples(text, 'futu_auth_limit_rejects_total'), [
    'futu_auth_limit_rejects_total{iface="mcp",key_id="claude-real",reason="rate"} 1',
  ]);
  assert.deepEqual(samples(text, 'futu_ws_push_filtered_total'), [
    'futu_ws_push_filtered_total{key_id="claude-analyst",reason="symbol"} 1',
  ]);
  assert.deepEqual(samples(text, 'futu_mcp_tool_calls_total'), [
    'futu_mcp_tool_calls_total{tool="futu_get_quote",outcome="success"} 1',
    'futu_mcp_tool_calls_total{tool="futu_place_order",outcome="reject"} 1',
  ]);
  const quoteBuckets = samples(text, 'futu_mcp_tool_duration_seconds_bucket').filter((l) => l.includes('futu_get_quote'));
  assert.equal(quoteBuckets[0], 'futu_mcp_tool_duration_seconds_bucket{le="0.0005",tool="futu_get_quote"} 0');
  assert.ok(quoteBuckets.includes('futu_mcp_tool_duration_seconds_bucket{le="0.005",tool="futu_get_quote"} 1'));
  assert.ok(quoteBuckets.includes('futu_mcp_tool_duration_seconds_bucket{le="10",tool="futu_get_quote"} 1'));
  assert.ok(samples(text, 'futu_authz_duration_seconds_bucket').includes('futu_authz_duration_seconds_bucket{le="0.0005"} 1'));
  assert.deepEqual(samples(text, 'futu_authz_duration_seconds_count'), ['futu_authz_duration_seconds_count 1']);
  assert.deepEqual(samples(text, 'futu_gateway_up'), ['futu_gateway_up 1']);
  assert.deepEqual(samples(text, 'futu_policy_info'), ['futu_policy_info{version="2026-11-20.1"} 1']);
  assert.match(text, /^process_cpu_user_seconds_total \d/m, 'process default metrics');
  assert.match(text, /^nodejs_heap_size_used_bytes \d/m);
  assert.equal(metrics.contentType, 'text/plain; version=0.0.4; charset=utf-8');
});

test('the gateway starts down and follows setGatewayUp', async () => {
  const metrics = createMetrics();
  assert.deepEqual(samples(await metrics.render(), 'futu_gateway_up'), ['futu_gateway_up 0']);
  metrics.setGatewayUp(true);
  metrics.setGatewayUp(false);
  assert.deepEqual(samples(await metrics.render(), 'futu_gateway_up'), ['futu_gateway_up 0']);
});

test('a new policy version replaces the old label instead of adding one', async () => {
  const metrics = createMetrics();
  metrics.setPolicyVersion('v1');
  metrics.setPolicyVersion('v2');
  assert.deepEqual(samples(await metrics.render(), 'futu_policy_info'), ['futu_policy_info{version="v2"} 1']);
});

test('retainKeys drops every series of a key a reload removed and keeps the others and the placeholders', async () => {
  const metrics = createMetrics();
  for (const keyId of ['gone', 'kept']) {
    metrics.authEvent('mcp', 'allow', keyId);
    metrics.authEvent('mcp', 'reject', keyId);
    metrics.limitReject('mcp', keyId, 'RATE_LIMIT');
    metrics.wsPushFiltered(keyId, 'revoked');
  }
  metrics.authEvent('mcp', 'reject', '<missing>');
  metrics.retainKeys((keyId) => ['kept', 'never-used'].includes(keyId));
  const text = await metrics.render();
  assert.equal(text.includes('key_id="gone"'), false);
  assert.equal(samples(text, 'futu_auth_events_total').length, 3);
  assert.equal(samples(text, 'futu_auth_limit_rejects_total').length, 1);
  assert.equal(samples(text, 'futu_ws_push_filtered_total').length, 1);
  assert.ok(text.includes('key_id="<missing>"'));
  // A key that comes back starts from zero.
  metrics.authEvent('mcp', 'allow', 'gone');
  assert.ok(samples(await metrics.render(), 'futu_auth_events_total').includes('futu_auth_events_total{iface="mcp",outcome="allow",key_id="gone"} 1'));
});

test('limit codes and policy ids map to the fixed reason set; anything else is other', () => {
  const expected: Record<string, string> = {
    CALL_RATE_LIMIT: 'call_rate',
    'call-rate-limit': 'call_rate',
    'listing-with-symbol-allowlist': 'symbol',
    RATE_LIMIT: 'rate',
    DAILY_LIMIT: 'daily',
    ORDER_VALUE_LIMIT: 'per_order',
    MARKET_NOT_ALLOWED: 'market',
    SYMBOL_NOT_ALLOWED: 'symbol',
    SIDE_NOT_ALLOWED: 'side',
    ACCOUNT_NOT_ALLOWED: 'account',
    OUTSIDE_HOURS: 'hours',
    'rate-limit': 'rate',
    'daily_limit': 'daily',
    'order value limit': 'per_order',
    MISSING_SCOPE: 'other',
    RATE_LIMITED_EXTRA: 'other',
    '': 'other',
    toString: 'other',
    ['__proto__']: 'other',
  };
  for (const [input, reason] of Object.entries(expected)) assert.equal(classifyLimitReason(input), reason, input);
  assert.deepEqual(new Set(Object.values(expected)), new Set(LIMIT_REASONS));
});

test('labels never carry a presented token or an unbounded value', async () => {
  assert.equal(keyIdLabel(PLAINTEXT_KEY), '<invalid>');
  assert.equal(keyIdLabel('Bearer abc def'), '<invalid>');
  assert.equal(keyIdLabel('x'.repeat(65)), '<invalid>');
  assert.equal(keyIdLabel('<missing>'), '<missing>');
  assert.equal(keyIdLabel('claude-bot.v2_1'), 'claude-bot.v2_1');

  const metrics = createMetrics({ knownTools: ['futu_get_quote'] });
  metrics.authEvent('mcp', 'reject', PLAINTEXT_KEY);
  metrics.limitReject('mcp', PLAINTEXT_KEY, 'RATE_LIMIT');
  metrics.toolCall('futu_made_up_1', 'reject', 0.001);
  metrics.toolCall('futu_made_up_2', 'reject', 0.001);
  const text = await metrics.render();
  assert.doesNotMatch(text, /ab12ab12/);
  assert.deepEqual(samples(text, 'futu_mcp_tool_calls_total'), ['futu_mcp_tool_calls_total{tool="<unknown>",outcome="reject"} 2']);
  assert.deepEqual(samples(text, 'futu_auth_events_total'), ['futu_auth_events_total{iface="mcp",outcome="reject",key_id="<invalid>"} 1']);
});

test('each instance has its own registry and nothing lands in the global one', async () => {
  const a = createMetrics();
  const b = createMetrics();
  a.authEvent('mcp', 'allow', 'k1');
  assert.equal(samples(await b.render(), 'futu_auth_events_total').length, 0);
  assert.equal(samples(await a.render(), 'futu_auth_events_total').length, 1);
  assert.equal(globalRegistry.getSingleMetric('futu_auth_events_total'), undefined);
  assert.doesNotMatch(await globalRegistry.metrics(), /futu_|process_cpu/);
});

test('a withheld push is classified by its credential or scope code, else by the limit policy that denied it', () => {
  assert.equal(classifyPushFilterReason('KEY_REVOKED', undefined), 'revoked');
  assert.equal(classifyPushFilterReason('KEY_EXPIRED', undefined), 'expired');
  assert.equal(classifyPushFilterReason('MISSING_SCOPE', undefined), 'scope');
  assert.equal(classifyPushFilterReason('LIMIT_EXCEEDED', 'symbol-not-allowed'), 'symbol');
  assert.equal(classifyPushFilterReason('LIMIT_EXCEEDED', 'market-not-allowed'), 'market');
  assert.equal(classifyPushFilterReason('LIMIT_EXCEEDED', 'account-not-allowed'), 'account');
  assert.equal(classifyPushFilterReason('POLICY_ERROR', undefined), 'other');
  assert.equal(classifyPushFilterReason('KEY_NOT_BOUND', undefined), 'other');
});

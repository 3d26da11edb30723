import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { z } from 'zod';
import { createMcpServer, describeIssues } from '../../src/mcp/server.js';
import { assertValidListings, READ_TOOL_ANNOTATIONS, TRADE_TOOL_ANNOTATIONS, type ToolListing } from '../../src/mcp/tool.js';
import { echoTools } from '../fixtures/echo-server.js';

const quote: ToolListing = {
  name: 'futu_get_quote',
  title: 'Quote',
  description: 'Real-time quote',
  scope: 'qot:read',
  input: z.strictObject({ symbol: z.string() }),
  output: z.object({ price: z.number() }),
  annotations: READ_TOOL_ANNOTATIONS,
};
const placeOrder: ToolListing = { ...quote, name: 'futu_place_order', scope: 'trade', annotations: TRADE_TOOL_ANNOTATIONS };

describe('tool declarations', () => {
  it('accepts strict, consistently annotated, uniquely named tools', () => {
    assert.doesNotThrow(() => assertValidListings([quote, placeOrder, ...echoTools]));
  });

  const broken: Array<[string, ToolListing[], RegExp]> = [
    ['a lenient input that would drop unknown fields', [{ ...quote, input: z.object({ symbol: z.string() }) }], /must be z\.strictObject/],
    ['an input that passes unknown fields through', [{ ...quote, input: z.looseObject({ symbol: z.string() }) }], /must be z\.strictObject/],
    ['a duplicate name', [quote, { ...quote }], /declared twice/],
    ['a name MCP does not allow', [{ ...quote, name: 'futu get quote' }], /name must be/],
    ['a trade tool hinted read-only', [{ ...placeOrder, annotations: READ_TOOL_ANNOTATIONS }], /readOnlyHint must be false for scope trade/],
    ['a trade tool without destructiveHint', [{ ...placeOrder, annotations: { readOnlyHint: false, openWorldHint: true } }], /destructiveHint: true/],
    ['a read tool not hinted read-only', [{ ...quote, annotations: TRADE_TOOL_ANNOTATIONS }], /readOnlyHint must be true for scope qot:read/],
    ['an unlock tool hinted read-only', [{ ...quote, scope: 'trade:unlock' }], /readOnlyHint must be false for scope trade:unlock/],
  ];
  for (const [what, tools, message] of broken) {
    it(`refuses ${what}`, () => {
      assert.throws(() => assertValidListings(tools), { code: 'invalid_tool_declaration', message });
    });
  }

  it('is enforced when the MCP server is built', () => {
    assert.throws(
      () => createMcpServer({ name: 'x', version: '0', tools: [{ ...quote, input: z.object({}) }], handleCall: async () => ({ structured: {} }) }),
      { code: 'invalid_tool_declaration' },
    );
  });
});

describe('describeIssues', () => {
  it('names each field, and describes at most five issues of at most 200 characters', () => {
    const eight = z.strictObject(Object.fromEntries(Array.from({ length: 8 }, (_, i) => [`f${i}`, z.number()])));
    const parsed = eight.safeParse(Object.fromEntries(Array.from({ length: 8 }, (_, i) => [`f${i}`, 'text'])));
    assert.equal(parsed.success, false);
    const text = describeIssues(parsed.error!.issues);
    assert.match(text, /^f0: Invalid input: expected number, received string; f1: .*; f4: [^;]*; and 3 more$/);
    const long = z.strictObject({}).safeParse({ [`k${'x'.repeat(10_000)}`]: 1 });
    const described = describeIssues(long.error!.issues);
    assert.equal(described.length, 201);
    assert.ok(described.startsWith('Unrecognized key: "kxxx') && described.endsWith('…'));
  });
});

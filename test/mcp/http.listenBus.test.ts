/**
 * The 2026-07-28 listen bus: a resource update reaches only the stream bound to the scope it was
 * delivered to, never through publish; list changes still reach every stream; closing the stream
 * closes the scope's subscriptions, and a scope closed before its stream opened closes late ones.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ServerEvent } from '@modelcontextprotocol/server';
import { KeyedListenBus, ListenScope } from '../../src/mcp/http/listenBus.js';

test('resource updates reach only their own scope\'s stream; list changes reach all', async () => {
  const bus = new KeyedListenBus();
  const mine = new ListenScope();
  const theirs = new ListenScope();
  const seen = { mine: [] as ServerEvent[], theirs: [] as ServerEvent[], plain: [] as ServerEvent[] };
  // Bound across an await, as the SDK opens the stream after reading the request.
  const unsubscribeMine = await bus.within(mine, async () => {
    await Promise.resolve();
    return bus.subscribe((e) => void seen.mine.push(e));
  });
  bus.within(theirs, () => bus.subscribe((e) => void seen.theirs.push(e)));
  bus.subscribe((e) => void seen.plain.push(e));

  mine.deliver('futu://quote/HK.00700');
  bus.publish({ kind: 'resource_updated', uri: 'futu://quote/HK.00700' });
  bus.publish({ kind: 'tools_list_changed' });
  assert.deepEqual(seen.mine, [{ kind: 'resource_updated', uri: 'futu://quote/HK.00700' }, { kind: 'tools_list_changed' }]);
  assert.deepEqual(seen.theirs, [{ kind: 'tools_list_changed' }]);
  assert.deepEqual(seen.plain, [{ kind: 'tools_list_changed' }]);

  let closed = 0;
  mine.add({ close: () => void closed++ });
  unsubscribeMine();
  assert.equal(closed, 1, 'the stream closing closed its subscriptions');
  mine.deliver('futu://quote/HK.00700');
  assert.equal(seen.mine.length, 2, 'nothing after close');
  mine.add({ close: () => void closed++ });
  assert.equal(closed, 2, 'a subscription added to a closed scope is closed at once');
});

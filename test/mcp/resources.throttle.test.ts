/**
 * The resource update rate limit on an injected clock: the first change goes out at once, changes
 * within the interval are merged and go out when it ends (the last state is always announced),
 * and a stopped throttle sends nothing more.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Throttle, type ThrottleClock } from '../../src/mcp/resources/throttle.js';

/** A clock the test moves; timers fire when it passes their time. */
function manualClock(): ThrottleClock & { advance(ms: number): void } {
  let now = 0;
  const timers = new Set<{ at: number; fn: () => void }>();
  return {
    now: () => now,
    after: (ms, fn) => {
      const timer = { at: now + ms, fn };
      timers.add(timer);
      return () => timers.delete(timer);
    },
    advance(ms) {
      now += ms;
      for (const timer of [...timers].sort((a, b) => a.at - b.at)) {
        if (timer.at > now) continue;
        timers.delete(timer);
        timer.fn();
      }
    },
  };
}

test('one delivery per interval: the first at once, the rest merged by key at the end of the interval', () => {
  const clock = manualClock();
  const delivered: string[][] = [];
  const throttle = new Throttle<string>(1000, clock, (changes) => void delivered.push([...changes]));
  throttle.push('a', 'a1');
  assert.deepEqual(delivered, [['a1']]);
  clock.advance(100);
  throttle.push('a', 'a2');
  clock.advance(100);
  throttle.push('a', 'a3');
  throttle.push('b', 'b1');
  clock.advance(700);
  assert.deepEqual(delivered, [['a1']], 'nothing more within the second');
  clock.advance(100);
  assert.deepEqual(delivered, [['a1'], ['a3', 'b1']], 'the held changes at the end of the second, the last of each key');
  clock.advance(5000);
  assert.equal(delivered.length, 2, 'no change, no delivery');
  throttle.push('a', 'a4');
  assert.deepEqual(delivered[2], ['a4'], 'after a quiet interval a change goes out at once');
});

test('a stopped throttle delivers nothing, not even what it held', () => {
  const clock = manualClock();
  const delivered: string[][] = [];
  const throttle = new Throttle<string>(1000, clock, (changes) => void delivered.push([...changes]));
  throttle.push('a', 'a1');
  throttle.push('a', 'a2');
  throttle.stop();
  clock.advance(2000);
  assert.deepEqual(delivered, [['a1']]);
});

/**
 * Each key's tool calls over the last 60 s, for the `call-rate-limit` policy (withinCallRate).
 *
 * Counted per process, in memory, in one-second buckets: a key's state is 60 counters however
 * high its cap, and taking a call costs a pass over them. A call counts for 60 to 61 s. Calls the
 * cap refused are not counted, so a key that keeps calling over its cap can call again as soon as
 * its earlier calls age out (`retryAfterSeconds` says when), not never.
 */
export const CALL_RATE_WINDOW_SECONDS = 60;

export type CallRateVerdict = { readonly within: true } | { readonly within: false; readonly retryAfterSeconds: number };

interface KeyWindow {
  /** Bucket i counts the calls of second `seconds[i]` (seconds since the epoch), i = second % 60. */
  readonly counts: Uint32Array;
  readonly seconds: Float64Array;
}

export class CallRateWindows {
  private readonly byKey = new Map<string, KeyWindow>();

  /** Counts a call of `keyId` at `nowMs` if it keeps the key within `cap` calls per 60 s. */
  take(keyId: string, cap: number, nowMs: number): CallRateVerdict {
    const second = Math.floor(nowMs / 1000);
    let window = this.byKey.get(keyId);
    if (window === undefined) {
      window = { counts: new Uint32Array(CALL_RATE_WINDOW_SECONDS), seconds: new Float64Array(CALL_RATE_WINDOW_SECONDS).fill(-Infinity) };
      this.byKey.set(keyId, window);
    }
    const { counts, seconds } = window;
    let total = 0;
    for (let i = 0; i < CALL_RATE_WINDOW_SECONDS; i++) {
      if (second - seconds[i]! < CALL_RATE_WINDOW_SECONDS) total += counts[i]!;
    }
    if (total < cap) {
      const slot = second % CALL_RATE_WINDOW_SECONDS;
      if (seconds[slot] !== second) {
        seconds[slot] = second;
        counts[slot] = 0;
      }
      counts[slot] = counts[slot]! + 1;
      return { within: true };
    }
    // Over the cap: wait until enough of the oldest seconds leave the window to make room for one.
    let excess = total - cap + 1;
    for (let age = CALL_RATE_WINDOW_SECONDS - 1; age >= 0; age--) {
      const slot = (second - age) % CALL_RATE_WINDOW_SECONDS;
      if (seconds[slot] !== second - age) continue;
      excess -= counts[slot]!;
      if (excess <= 0) return { within: false, retryAfterSeconds: CALL_RATE_WINDOW_SECONDS - age };
    }
    return { within: false, retryAfterSeconds: CALL_RATE_WINDOW_SECONDS };
  }

  /** Forgets keys that no longer exist (after a reload), so the map stays as small as keys.json. */
  retain(exists: (keyId: string) => boolean): void {
    for (const keyId of this.byKey.keys()) if (!exists(keyId)) this.byKey.delete(keyId);
  }
}

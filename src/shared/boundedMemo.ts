/**
 * `compute` with its results remembered, for functions called again and again on a small fixed
 * set of arguments (record field names, key expiry timestamps). Once `max` distinct arguments
 * are remembered, new ones are computed every time, so a caller that generates arguments cannot
 * grow the map without limit.
 */
export function boundedMemo<V>(compute: (argument: string) => V, max: number): (argument: string) => V {
  const remembered = new Map<string, V>();
  return (argument) => {
    const hit = remembered.get(argument);
    if (hit !== undefined || remembered.has(argument)) return hit as V;
    const value = compute(argument);
    if (remembered.size < max) remembered.set(argument, value);
    return value;
  };
}

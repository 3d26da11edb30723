/**
 * Seeded randomness for the simulator. Every random quantity is drawn from a stream keyed by what
 * it describes (seed, symbol, day, ...), so any bar or tick can be recomputed on its own, in any
 * order, with the same result.
 */

/** FNV-1a over the UTF-16 code units, finished with murmur3's avalanche step. */
export function hash32(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return fmix32(h);
}

function fmix32(value: number): number {
  let h = value;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** Derives an independent 32-bit seed from a parent seed and an integer (cheaper than hashing text). */
export function childSeed(parent: number, index: number): number {
  return fmix32((parent ^ Math.imul(index + 0x9e3779b9, 0x85ebca6b)) >>> 0);
}

/** A 64-bit value from a key, as a bigint (for uint64 identifiers). */
export function hash64(text: string): bigint {
  return (BigInt(hash32(text)) << 32n) | BigInt(hash32(`${text}#lo`));
}

/**
 * mulberry32: tiny, fast and good enough for simulated prices (not for cryptography). Its state
 * lives in typed arrays because a uint32 or double object field would allocate on every draw.
 */
export class Rng {
  private readonly state = new Uint32Array(1);
  /** The second Box–Muller value, or NaN when there is none. */
  private readonly spare = new Float64Array([NaN]);

  constructor(seed: number) {
    this.state[0] = seed;
  }

  static of(...key: (string | number)[]): Rng {
    return new Rng(hash32(key.join('|')));
  }

  /** Restarts the stream from another seed: lets hot loops reuse one generator. */
  reseed(seed: number): this {
    this.state[0] = seed;
    this.spare[0] = NaN;
    return this;
  }

  /** Uniform in [0, 1). */
  next(): number {
    this.state[0] = this.state[0]! + 0x6d2b79f5;
    const s = this.state[0]!;
    let t = Math.imul(s ^ (s >>> 15), s | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** Uniform integer in [lo, hi]. */
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.next() * (hi - lo + 1));
  }

  /** Standard normal (Box–Muller, keeping the second value for the next call). */
  normal(): number {
    const kept = this.spare[0]!;
    if (!Number.isNaN(kept)) {
      this.spare[0] = NaN;
      return kept;
    }
    const radius = Math.sqrt(-2 * Math.log(1 - this.next()));
    const angle = 2 * Math.PI * this.next();
    this.spare[0] = radius * Math.sin(angle);
    return radius * Math.cos(angle);
  }
}

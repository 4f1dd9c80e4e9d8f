// Randomness for the core comes from outside: a generator seeded by the caller, so a run
// replays exactly from its seed. The core only draws election timeouts from it.

export interface RandomSource {
  /** A uniformly distributed integer in [0, boundExclusive). */
  nextInt(boundExclusive: number): number;
}

/**
 * xorshift128 (Marsaglia, 2003) over four 32-bit words, seeded by spreading the seed with a
 * multiplicative hash so that nearby seeds give unrelated streams. Not cryptographic: it only
 * has to be fast, deterministic and well spread for timeouts and fault schedules.
 */
export class SeededRandom implements RandomSource {
  private x: number;
  private y: number;
  private z: number;
  private w: number;

  constructor(seed: number) {
    if (!Number.isSafeInteger(seed)) throw new RangeError(`seed ${seed} is not a safe integer`);
    let state = (seed ^ Math.floor(seed / 2 ** 32)) >>> 0;
    const spread = (): number => {
      state = (state + 0x9e3779b9) >>> 0;
      let value = state;
      value = Math.imul(value ^ (value >>> 16), 0x85ebca6b) >>> 0;
      value = Math.imul(value ^ (value >>> 13), 0xc2b2ae35) >>> 0;
      return (value ^ (value >>> 16)) >>> 0;
    };
    this.x = spread();
    this.y = spread();
    this.z = spread();
    this.w = spread() | 1; // the state must never be all zero
  }

  /** A uniformly distributed 32-bit unsigned integer. */
  nextUint32(): number {
    const t = (this.x ^ (this.x << 11)) >>> 0;
    this.x = this.y;
    this.y = this.z;
    this.z = this.w;
    this.w = (this.w ^ (this.w >>> 19) ^ (t ^ (t >>> 8))) >>> 0;
    return this.w;
  }

  /** A float in [0, 1). */
  nextFloat(): number {
    return this.nextUint32() / 2 ** 32;
  }

  nextInt(boundExclusive: number): number {
    if (!Number.isSafeInteger(boundExclusive) || boundExclusive <= 0 || boundExclusive > 2 ** 32) {
      throw new RangeError(`bound ${boundExclusive} is not an integer in [1, 2^32]`);
    }
    return Math.floor(this.nextFloat() * boundExclusive);
  }

  /** An integer in [low, high], both inclusive. */
  nextIntBetween(low: number, high: number): number {
    return low + this.nextInt(high - low + 1);
  }

  /** True with the given probability. */
  chance(probability: number): boolean {
    return this.nextFloat() < probability;
  }

  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new RangeError("pick from an empty list");
    return items[this.nextInt(items.length)]!;
  }
}

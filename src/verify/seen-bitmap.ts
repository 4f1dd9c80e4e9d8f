// One bit per chain sequence number 1..size: which entries a scan has matched. n / 8 bytes, so a
// billion-row chain costs 125 MB and a million-row chain 125 KB.

export class SeenBitmap {
  readonly size: number;
  private readonly bits: Uint8Array;

  constructor(size: number) {
    if (!Number.isSafeInteger(size) || size < 0) {
      throw new RangeError(`a bitmap covers 0 to 2^53 - 1 sequence numbers, got ${size}`);
    }
    this.size = size;
    this.bits = new Uint8Array(Math.ceil(size / 8));
  }

  /** Marks `seq` (1-based); returns whether it was marked already. */
  mark(seq: number): boolean {
    this.assertInRange(seq);
    const index = Math.floor((seq - 1) / 8);
    const mask = 1 << ((seq - 1) % 8);
    const before = this.bits[index]!;
    this.bits[index] = before | mask;
    return (before & mask) !== 0;
  }

  has(seq: number): boolean {
    this.assertInRange(seq);
    return (this.bits[Math.floor((seq - 1) / 8)]! & (1 << ((seq - 1) % 8))) !== 0;
  }

  /** Every unmarked sequence number, ascending; skips full bytes eight at a time. */
  *unmarked(): Generator<number> {
    for (let index = 0; index < this.bits.length; index++) {
      const byte = this.bits[index]!;
      if (byte === 0xff) continue;
      for (let bit = 0; bit < 8; bit++) {
        const seq = index * 8 + bit + 1;
        if (seq > this.size) return;
        if ((byte & (1 << bit)) === 0) yield seq;
      }
    }
  }

  private assertInRange(seq: number): void {
    if (!Number.isInteger(seq) || seq < 1 || seq > this.size) {
      throw new RangeError(`sequence number ${seq} is outside 1..${this.size}`);
    }
  }
}

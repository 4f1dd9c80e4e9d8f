// Builds protocol messages byte by byte for decoder tests.

/** Writes protocol fields big-endian, as the server does. */
export class Bytes {
  private readonly parts: number[] = [];
  byte(value: number | string): this {
    this.parts.push(typeof value === "string" ? value.charCodeAt(0) : value);
    return this;
  }
  int16(value: number): this {
    this.parts.push((value >> 8) & 0xff, value & 0xff);
    return this;
  }
  int32(value: number): this {
    for (const shift of [24, 16, 8, 0]) this.parts.push((value >>> shift) & 0xff);
    return this;
  }
  int64(value: bigint): this {
    const unsigned = BigInt.asUintN(64, value);
    for (let shift = 56n; shift >= 0n; shift -= 8n)
      this.parts.push(Number((unsigned >> shift) & 0xffn));
    return this;
  }
  string(value: string): this {
    this.parts.push(...new TextEncoder().encode(value), 0);
    return this;
  }
  text(value: string): this {
    const bytes = new TextEncoder().encode(value);
    this.byte("t").int32(bytes.length);
    this.parts.push(...bytes);
    return this;
  }
  done(): Uint8Array {
    return Uint8Array.from(this.parts);
  }
}

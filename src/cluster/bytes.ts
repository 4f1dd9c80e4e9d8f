// A small big-endian writer and a strict reader, shared by the command codec and the snapshot.
// The reader refuses lengths past the end, invalid UTF-8, non-canonical booleans and integers
// beyond 2^53 - 1, so every accepted byte string has exactly one meaning.

const UTF8_DECODER = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
const UTF8_ENCODER = new TextEncoder();

export class ByteWriter {
  private chunks: Uint8Array[] = [];
  private length = 0;

  private push(chunk: Uint8Array): void {
    this.chunks.push(chunk);
    this.length += chunk.length;
  }

  u8(value: number): void {
    this.push(Uint8Array.of(value));
  }

  u16(value: number): void {
    const chunk = new Uint8Array(2);
    new DataView(chunk.buffer).setUint16(0, value);
    this.push(chunk);
  }

  u32(value: number): void {
    const chunk = new Uint8Array(4);
    new DataView(chunk.buffer).setUint32(0, value);
    this.push(chunk);
  }

  /** A non-negative safe integer as eight bytes. */
  u64(value: number): void {
    if (!Number.isSafeInteger(value) || value < 0) {
      throw new RangeError(`${value} is not a non-negative safe integer`);
    }
    const chunk = new Uint8Array(8);
    new DataView(chunk.buffer).setBigUint64(0, BigInt(value));
    this.push(chunk);
  }

  bool(value: boolean): void {
    this.u8(value ? 1 : 0);
  }

  /** u32 length, then the bytes. */
  bytes(value: Uint8Array): void {
    this.u32(value.length);
    this.push(value);
  }

  /** u32 length, then UTF-8. */
  string(value: string): void {
    this.bytes(UTF8_ENCODER.encode(value));
  }

  finish(): Uint8Array {
    const out = new Uint8Array(this.length);
    let offset = 0;
    for (const chunk of this.chunks) {
      out.set(chunk, offset);
      offset += chunk.length;
    }
    return out;
  }
}

export class ByteReader {
  private offset = 0;
  private readonly view: DataView;

  constructor(
    private readonly data: Uint8Array,
    private readonly fail: (message: string) => Error,
  ) {
    this.view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  }

  private need(count: number, what: string): void {
    if (this.offset + count > this.data.length) {
      throw this.fail(`${what} runs past the end (offset ${this.offset}, ${count} bytes)`);
    }
  }

  u8(what: string): number {
    this.need(1, what);
    return this.view.getUint8(this.offset++);
  }

  u16(what: string): number {
    this.need(2, what);
    const value = this.view.getUint16(this.offset);
    this.offset += 2;
    return value;
  }

  u32(what: string): number {
    this.need(4, what);
    const value = this.view.getUint32(this.offset);
    this.offset += 4;
    return value;
  }

  u64(what: string): number {
    this.need(8, what);
    const value = this.view.getBigUint64(this.offset);
    this.offset += 8;
    if (value > BigInt(Number.MAX_SAFE_INTEGER)) throw this.fail(`${what} ${value} is too large`);
    return Number(value);
  }

  bool(what: string): boolean {
    const value = this.u8(what);
    if (value > 1) throw this.fail(`${what} is ${value}; a boolean is 0 or 1`);
    return value === 1;
  }

  bytes(what: string, bytesMax: number): Uint8Array {
    const length = this.u32(`${what} length`);
    if (length > bytesMax) throw this.fail(`${what} is ${length} bytes; at most ${bytesMax}`);
    this.need(length, what);
    const value = this.data.slice(this.offset, this.offset + length);
    this.offset += length;
    return value;
  }

  string(what: string, bytesMax: number): string {
    const raw = this.bytes(what, bytesMax);
    try {
      return UTF8_DECODER.decode(raw);
    } catch {
      throw this.fail(`${what} is not valid UTF-8`);
    }
  }

  end(what: string): void {
    if (this.offset !== this.data.length) {
      throw this.fail(`${this.data.length - this.offset} bytes follow the end of the ${what}`);
    }
  }
}

export const utf8Length = (text: string): number => UTF8_ENCODER.encode(text).length;

/**
 * Values of one batch packed into shared chunks instead of an ArrayBuffer each: a typed array of
 * more than 64 bytes gets a backing store of its own outside V8's heap, dear to allocate and
 * tracked by the garbage collector (a chain entry value is 72 bytes and up). A chunk is never
 * reused: its values live as long as the batch does. Chunks start small and double, so a batch
 * of one row does not take a large one.
 */
export class ByteArena {
  #chunk = new Uint8Array(0);
  #used = 0;

  /** `length` writable bytes, zero-filled, that no other call returns. */
  take(length: number): Uint8Array {
    if (length > ARENA_VALUE_BYTES_MAX) return new Uint8Array(length);
    if (this.#used + length > this.#chunk.length) {
      const doubled = Math.min(this.#chunk.length * 2, ARENA_CHUNK_BYTES_MAX);
      this.#chunk = new Uint8Array(Math.max(doubled, ARENA_CHUNK_BYTES_MIN, length));
      this.#used = 0;
    }
    const start = this.#used;
    this.#used = start + length;
    return this.#chunk.subarray(start, this.#used);
  }
}

/** The first chunk: about ten chain entries with their index values. */
const ARENA_CHUNK_BYTES_MIN = 1_024;
/** 64 KiB: about 700 chain entries with their index values. */
const ARENA_CHUNK_BYTES_MAX = 65_536;
/** Larger values get their own buffer, so that one does not waste most of a chunk. */
const ARENA_VALUE_BYTES_MAX = 4_096;

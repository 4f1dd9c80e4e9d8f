// ByteArena: a batch's values packed into shared chunks; none may overlap another.
import { describe, expect, test } from "vitest";
import { ByteArena } from "../../src/store/arena.js";

describe("ByteArena", () => {
  test("values never overlap, across chunks, and keep what was written to them", () => {
    const arena = new ByteArena();
    const values: Uint8Array[] = [];
    // Enough 82-byte values to fill several 64 KiB chunks.
    for (let index = 0; index < 3000; index++) {
      const value = arena.take(82 + (index % 7));
      expect(value.every((byte) => byte === 0)).toBe(true);
      value.fill(index % 251);
      values.push(value);
    }
    values.forEach((value, index) => {
      expect(value.every((byte) => byte === index % 251)).toBe(true);
    });
    const chunks = new Set(values.map((value) => value.buffer));
    expect(chunks.size).toBeGreaterThan(1);
    expect(chunks.size).toBeLessThan(15);
  });

  test("chunks start small and double up to 64 KiB", () => {
    const arena = new ByteArena();
    const sizes: number[] = [];
    let previous: ArrayBufferLike | undefined;
    for (let index = 0; index < 4000; index++) {
      const value = arena.take(90);
      if (value.buffer !== previous) sizes.push(value.buffer.byteLength);
      previous = value.buffer;
    }
    expect(sizes.slice(0, 4)).toEqual([1024, 2048, 4096, 8192]);
    expect(Math.max(...sizes)).toBe(65_536);
  });

  test("a value larger than the next chunk would be still gets every byte it asked for", () => {
    const arena = new ByteArena();
    for (const length of [3000, 1000, 4096, 4000, 10]) {
      const value = arena.take(length);
      expect(value.length).toBe(length);
      value.fill(7);
    }
  });

  test("a large value gets a buffer of its own", () => {
    const arena = new ByteArena();
    const small = arena.take(8);
    const large = arena.take(100_000);
    expect(large.length).toBe(100_000);
    expect(large.buffer).not.toBe(small.buffer);
    expect(large.byteOffset).toBe(0);
    expect(arena.take(8).buffer).toBe(small.buffer);
    expect(small.buffer.byteLength).toBe(1024);
  });
});

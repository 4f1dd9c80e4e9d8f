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
    expect(chunks.size).toBeLessThan(10);
  });

  test("a large value gets a buffer of its own", () => {
    const arena = new ByteArena();
    const small = arena.take(8);
    const large = arena.take(100_000);
    expect(large.length).toBe(100_000);
    expect(large.buffer).not.toBe(small.buffer);
    expect(large.byteOffset).toBe(0);
    expect(arena.take(8).buffer).toBe(small.buffer);
  });
});

// Keys of the Raft families in the Witnz store (tags reserved in src/store/keys.ts):
//
//   tag   family              fields after the tag    value
//   0x0a  raft log entry      u64 index               u64 term, u8 type, data
//   0x0b  raft stable state   u16 length, name UTF-8  see stable-state names below
//
// Integers are big-endian so that byte order is index order.
import { RaftRunnerError } from "./errors.js";

export const RAFT_LOG_ENTRY_TAG = 0x0a;
export const RAFT_STABLE_STATE_TAG = 0x0b;

const UINT64_BYTES = 8;
const UINT32_RANGE = 2 ** 32;
const NAME_BYTES_MAX = 128;
const encoder = new TextEncoder();

export function writeUint64(bytes: Uint8Array, offset: number, value: number): void {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  view.setUint32(offset, Math.floor(value / UINT32_RANGE));
  view.setUint32(offset + 4, value % UINT32_RANGE);
}

export function readUint64(bytes: Uint8Array, offset: number): number {
  if (bytes.length < offset + UINT64_BYTES) {
    throw new RaftRunnerError("WITNZ_RAFT_CORRUPT", "a stored Raft value is truncated");
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const value = view.getUint32(offset) * UINT32_RANGE + view.getUint32(offset + 4);
  if (!Number.isSafeInteger(value)) {
    throw new RaftRunnerError("WITNZ_RAFT_CORRUPT", "a stored Raft integer is above 2^53");
  }
  return value;
}

export function logEntryKey(index: number): Uint8Array {
  const key = new Uint8Array(1 + UINT64_BYTES);
  key[0] = RAFT_LOG_ENTRY_TAG;
  writeUint64(key, 1, index);
  return key;
}

export function decodeLogEntryKey(key: Uint8Array): number {
  if (key.length !== 1 + UINT64_BYTES || key[0] !== RAFT_LOG_ENTRY_TAG) {
    throw new RaftRunnerError("WITNZ_RAFT_CORRUPT", "a Raft log key is malformed");
  }
  return readUint64(key, 1);
}

/** Every Raft log entry key: [tag, tag + 1). */
export const LOG_ENTRY_RANGE = {
  start: Uint8Array.of(RAFT_LOG_ENTRY_TAG),
  end: Uint8Array.of(RAFT_LOG_ENTRY_TAG + 1),
} as const;

export function stableStateKey(name: string): Uint8Array {
  const nameBytes = encoder.encode(name);
  if (nameBytes.length === 0 || nameBytes.length > NAME_BYTES_MAX) {
    throw new RangeError(`a stable state name has 1 to ${NAME_BYTES_MAX} bytes: "${name}"`);
  }
  const key = new Uint8Array(1 + 2 + nameBytes.length);
  key[0] = RAFT_STABLE_STATE_TAG;
  key[1] = nameBytes.length >>> 8;
  key[2] = nameBytes.length & 0xff;
  key.set(nameBytes, 3);
  return key;
}

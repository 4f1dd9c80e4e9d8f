// Primary key bytes: the key under which the store indexes a row's sequence number. Same part
// layout as the row encoding, so two different keys never share bytes.
import type { TextValue } from "./row-encoding.js";
import { RowEncodingError } from "./row-encoding.js";

const PRIMARY_KEY_ENCODING_VERSION = 1;

/** u8 version, u16 count, then per value: u8 tag (0 NULL, 1 text) and u32 length + UTF-8 bytes. */
export function encodePrimaryKey(values: readonly TextValue[]): Buffer {
  if (values.length === 0 || values.length > 0xffff) {
    throw new RowEncodingError(`a primary key has 1 to 65535 columns, got ${values.length}`);
  }
  const parts = values.map((value) =>
    value === null ? null : typeof value === "string" ? Buffer.from(value, "utf8") : value,
  );
  const total = 3 + parts.reduce((sum, part) => sum + 1 + (part === null ? 0 : 4 + part.length), 0);
  const out = Buffer.allocUnsafe(total);
  let offset = out.writeUInt8(PRIMARY_KEY_ENCODING_VERSION, 0);
  offset = out.writeUInt16BE(values.length, offset);
  for (const part of parts) {
    if (part === null) {
      offset = out.writeUInt8(0, offset);
      continue;
    }
    offset = out.writeUInt8(1, offset);
    offset = out.writeUInt32BE(part.length, offset);
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

/** The primary key's text values, for reports (`["42"]`, `["a", "7"]`). */
export function decodePrimaryKey(bytes: Uint8Array): (string | null)[] {
  const buffer = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (buffer.length < 3 || buffer.readUInt8(0) !== PRIMARY_KEY_ENCODING_VERSION) {
    throw new RowEncodingError("not an encoded primary key");
  }
  const count = buffer.readUInt16BE(1);
  const values: (string | null)[] = [];
  let offset = 3;
  for (let index = 0; index < count; index++) {
    const tag = buffer.readUInt8(offset);
    offset += 1;
    if (tag === 0) {
      values.push(null);
      continue;
    }
    const length = buffer.readUInt32BE(offset);
    offset += 4;
    if (offset + length > buffer.length) throw new RowEncodingError("truncated primary key");
    values.push(buffer.toString("utf8", offset, offset + length));
    offset += length;
  }
  if (offset !== buffer.length) throw new RowEncodingError("trailing bytes after a primary key");
  return values;
}

// Primary key bytes: the key under which the store indexes a row's sequence number. Same part
// layout as the row encoding, so two different keys never share bytes. A key whose encoding is
// longer than PRIMARY_KEY_INLINE_BYTES_MAX (PostgreSQL accepts far longer ones: a compressible
// text key, a wide composite) is kept as its digest form instead: PRIMARY_KEY_DIGEST_TAG then the
// SHA-256 of the full encoding, 33 bytes, which no encoding of version 1 can equal.
import { SHA256_BYTES, sha256 } from "../crypto/index.js";
import type { TextValue } from "./row-encoding.js";
import { RowEncodingError } from "./row-encoding.js";

const PRIMARY_KEY_ENCODING_VERSION = 1;
/** The longest encoding kept as it is; the store's limit for a primary key is this too. */
export const PRIMARY_KEY_INLINE_BYTES_MAX = 1024;
/** The first byte of a digest form. */
export const PRIMARY_KEY_DIGEST_TAG = 0x80;
const DIGEST_FORM_BYTES = 1 + SHA256_BYTES;
/** How a key in digest form is reported: this prefix, then the digest in hex. */
const DIGEST_PREFIX = "sha256:";
const DIGEST_REPORT = new RegExp(`^${DIGEST_PREFIX}([0-9a-f]{${2 * SHA256_BYTES}})$`);

/**
 * u8 version, u16 count, then per value: u8 tag (0 NULL, 1 text) and u32 length + UTF-8 bytes;
 * or, when that is longer than PRIMARY_KEY_INLINE_BYTES_MAX, its digest form.
 */
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
  return out.length > PRIMARY_KEY_INLINE_BYTES_MAX ? primaryKeyDigestForm(out) : out;
}

/**
 * The digest form a report of one (`["sha256:<hex>"]`, decodePrimaryKey's) stands for; undefined
 * for any other key, which may still be a text key that merely looks like one.
 */
export function reportedDigestForm(values: readonly (string | null)[]): Buffer | undefined {
  const digest = values.length === 1 ? DIGEST_REPORT.exec(values[0] ?? "") : null;
  if (digest === null) return undefined;
  const out = Buffer.allocUnsafe(DIGEST_FORM_BYTES);
  out[0] = PRIMARY_KEY_DIGEST_TAG;
  out.write(digest[1]!, 1, "hex");
  return out;
}

/** PRIMARY_KEY_DIGEST_TAG || SHA-256(encoding): the form of an encoding too long to keep. */
export function primaryKeyDigestForm(encoding: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(DIGEST_FORM_BYTES);
  out[0] = PRIMARY_KEY_DIGEST_TAG;
  out.set(sha256(encoding), 1);
  return out;
}

/**
 * The primary key's text values, for reports (`["42"]`, `["a", "7"]`); a key in digest form is
 * one value, `sha256:` and the digest in hex (`["sha256:9f86…"]`).
 */
export function decodePrimaryKey(bytes: Uint8Array): (string | null)[] {
  const buffer = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (buffer.length === DIGEST_FORM_BYTES && buffer[0] === PRIMARY_KEY_DIGEST_TAG) {
    return [`${DIGEST_PREFIX}${buffer.toString("hex", 1)}`];
  }
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

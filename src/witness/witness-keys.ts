// The witness's keys in its LMDB store, all under the store's reserved witness tag (0x0c), so
// they share one LMDB environment with the alert outbox. Names are a u16 byte length and UTF-8;
// sizes a u64 big-endian. docs/design/witness.md lists the layout.
import { KeyTag } from "../store/index.js";

export const WitnessKeyTag = {
  submission: 0x01,
  collection: 0x02,
  verdict: 0x03,
  cosigned: 0x04,
  nodeState: 0x05,
  cosignedAt: 0x06,
  latestVerdict: 0x07,
  queryNonce: 0x08,
  queryNoncesDropped: 0x09,
} as const;
type WitnessKeyTag = (typeof WitnessKeyTag)[keyof typeof WitnessKeyTag];

const encoder = new TextEncoder();
const decoder = new TextDecoder("utf-8", { fatal: true });

class KeyWriter {
  readonly #parts: Uint8Array[] = [];
  constructor(tag: WitnessKeyTag) {
    this.#parts.push(Uint8Array.of(KeyTag.reservedWitnessSubmission, tag));
  }
  name(text: string): this {
    const bytes = encoder.encode(text);
    const length = new Uint8Array(2);
    new DataView(length.buffer).setUint16(0, bytes.length);
    this.#parts.push(length, bytes);
    return this;
  }
  size(value: number): this {
    const bytes = new Uint8Array(8);
    new DataView(bytes.buffer).setBigUint64(0, BigInt(value));
    this.#parts.push(bytes);
    return this;
  }
  bytes(): Uint8Array {
    return Buffer.concat(this.#parts);
  }
}

export const submissionKey = (customer: string, table: string, size: number, node: string) =>
  new KeyWriter(WitnessKeyTag.submission).name(customer).name(table).size(size).name(node).bytes();
/** Prefix of every submission of one (customer, table, size). */
export const submissionPrefix = (customer: string, table: string, size: number) =>
  new KeyWriter(WitnessKeyTag.submission).name(customer).name(table).size(size).bytes();
export const collectionKey = (customer: string, table: string, size: number) =>
  new KeyWriter(WitnessKeyTag.collection).name(customer).name(table).size(size).bytes();
export const collectionPrefix = () => new KeyWriter(WitnessKeyTag.collection).bytes();
export const verdictKey = (customer: string, table: string, size: number) =>
  new KeyWriter(WitnessKeyTag.verdict).name(customer).name(table).size(size).bytes();
/** Prefix of every verdict of one table, in size order. */
export const verdictPrefix = (customer: string, table: string) =>
  new KeyWriter(WitnessKeyTag.verdict).name(customer).name(table).bytes();
export const latestVerdictKey = (customer: string, table: string) =>
  new KeyWriter(WitnessKeyTag.latestVerdict).name(customer).name(table).bytes();
export const latestVerdictPrefix = (customer: string) =>
  new KeyWriter(WitnessKeyTag.latestVerdict).name(customer).bytes();
export const cosignedKey = (customer: string, table: string) =>
  new KeyWriter(WitnessKeyTag.cosigned).name(customer).name(table).bytes();
export const cosignedAtKey = (customer: string, table: string, size: number) =>
  new KeyWriter(WitnessKeyTag.cosignedAt).name(customer).name(table).size(size).bytes();
export const nodeStateKey = (customer: string, node: string) =>
  new KeyWriter(WitnessKeyTag.nodeState).name(customer).name(node).bytes();
export const queryNonceKey = (customer: string, node: string, nonce: string) =>
  new KeyWriter(WitnessKeyTag.queryNonce).name(customer).name(node).name(nonce).bytes();
export const queryNoncePrefix = () => new KeyWriter(WitnessKeyTag.queryNonce).bytes();
export const queryNoncesDroppedKey = () => new KeyWriter(WitnessKeyTag.queryNoncesDropped).bytes();

/** The key just past every key that starts with `prefix`. */
export function prefixEnd(prefix: Uint8Array): Uint8Array {
  const end = Uint8Array.from(prefix);
  for (let index = end.length - 1; index >= 0; index--) {
    if (end[index]! < 0xff) {
      end[index]! += 1;
      return end.subarray(0, index + 1);
    }
  }
  return Uint8Array.of(0xff);
}

/** Reads back (customer, table, size) from a collection key. */
export function decodeCollectionKey(key: Uint8Array): {
  customer: string;
  table: string;
  size: number;
} {
  const reader = new KeyReader(key);
  const customer = reader.name();
  const table = reader.name();
  return { customer, table, size: reader.size() };
}

/** Reads back (customer, node, nonce) from a query nonce key. */
export function decodeQueryNonceKey(key: Uint8Array): {
  customer: string;
  node: string;
  nonce: string;
} {
  const reader = new KeyReader(key);
  return { customer: reader.name(), node: reader.name(), nonce: reader.name() };
}

class KeyReader {
  readonly #key: Uint8Array;
  readonly #view: DataView;
  /** Past the two tag bytes. */
  #offset = 2;
  constructor(key: Uint8Array) {
    this.#key = key;
    this.#view = new DataView(key.buffer, key.byteOffset, key.byteLength);
  }
  name(): string {
    const length = this.#view.getUint16(this.#offset);
    const text = decoder.decode(this.#key.subarray(this.#offset + 2, this.#offset + 2 + length));
    this.#offset += 2 + length;
    return text;
  }
  size(): number {
    const value = Number(this.#view.getBigUint64(this.#offset));
    this.#offset += 8;
    return value;
  }
}

export const encodeJson = (value: unknown): Uint8Array => encoder.encode(JSON.stringify(value));
export const decodeJson = <T>(bytes: Uint8Array): T => JSON.parse(decoder.decode(bytes)) as T;

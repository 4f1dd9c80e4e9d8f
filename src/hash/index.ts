export { chainHash, dataHash, extendChain, GENESIS_CHAIN_HASH } from "./chain.js";
export {
  decodePrimaryKey,
  encodePrimaryKey,
  PRIMARY_KEY_DIGEST_TAG,
  PRIMARY_KEY_INLINE_BYTES_MAX,
  primaryKeyDigestForm,
  reportedDigestForm,
} from "./primary-key.js";
export { RowEncoder } from "./row-encoder.js";
export {
  decodeRow,
  encodeRow,
  ROW_ENCODING_VERSION,
  RowEncodingError,
  type RowImage,
  type TextValue,
} from "./row-encoding.js";

export {
  KeyFileError,
  type KeygenResult,
  keygen,
  loadNodeKey,
  loadOrCreateNodeKey,
  PRIVATE_KEY_FILE,
  PUBLIC_KEY_FILE,
} from "./key-files.js";

export {
  KeyFileError,
  type KeygenResult,
  keygen,
  loadOrCreateNodeKey,
  PRIVATE_KEY_FILE,
  PUBLIC_KEY_FILE,
} from "./key-files.js";

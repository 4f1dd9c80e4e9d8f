export { openDatabaseSession, serverAddress, sessionOptions } from "./connection.js";
export { SetupError, type SetupErrorCode } from "./errors.js";
export {
  type CheckStatus,
  formatCheck,
  type InitCheck,
  type InitOptions,
  type InitResult,
  initNode,
} from "./init.js";

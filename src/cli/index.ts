export { CliError } from "./errors.js";
export { type KeygenResult, keygen } from "./keygen.js";
export { buildProgram, type CliIo, runCli } from "./program.js";

export { CliError } from "./errors.js";
export { buildProgram, type CliIo, runCli } from "./program.js";

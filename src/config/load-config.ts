import { readFileSync, statSync } from "node:fs";
import { ConfigError } from "./errors.js";
import type { Environment } from "./interpolate.js";
import { CONFIG_CHARACTERS_MAX, type ConfigResult, parseConfig } from "./parse-config.js";

export const CONFIG_FILE_BYTES_MAX = CONFIG_CHARACTERS_MAX;

export interface LoadConfigOptions {
  /** Variables for ${NAME} and WITNZ_ overrides. Default: the process environment. */
  readonly env?: Environment;
}

/** Reads and parses a configuration file; see parseConfig. */
export function loadConfig(path: string, options: LoadConfigOptions = {}): ConfigResult {
  const env = options.env ?? process.env;
  let text: string;
  try {
    const bytes = statSync(path).size;
    if (bytes > CONFIG_FILE_BYTES_MAX) {
      throw new ConfigError("WITNZ_CONFIG_INVALID", path, [
        `the file is ${bytes} bytes; a configuration file is at most ${CONFIG_FILE_BYTES_MAX}`,
      ]);
    }
    text = readFileSync(path, "utf8");
  } catch (error) {
    if (error instanceof ConfigError) throw error;
    throw new ConfigError("WITNZ_CONFIG_UNREADABLE", path, [systemReason(error)], {
      cause: error,
    });
  }
  return parseConfig(text, { env, source: path });
}

/** "no such file or directory (ENOENT)" from Node's "ENOENT: no such file or directory, open '…'". */
function systemReason(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const code = (error as NodeJS.ErrnoException).code;
  const match = /^[A-Z0-9_]+: (.*?)(?:, [a-z]+(?: '.*')?)?$/s.exec(error.message);
  const reason = match?.[1] ?? error.message;
  return code === undefined ? reason : `${reason} (${code})`;
}

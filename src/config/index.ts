// The configuration module's one door. A file is YAML in snake_case (see docs/design/config.md);
// the validated result is camelCase, with durations in milliseconds.

import { formatPath } from "./display.js";
import { OVERRIDABLE_SETTINGS } from "./schema-shape.js";

export { formatDuration, parseDuration } from "./duration.js";
export { ConfigError, type ConfigErrorCode, formatConfigError } from "./errors.js";
export { exampleConfigYaml } from "./example.js";
export type { Environment } from "./interpolate.js";
export { type LoadConfigOptions, loadConfig } from "./load-config.js";
export { type ConfigResult, type ParseConfigOptions, parseConfig } from "./parse-config.js";
export type {
  AlertsConfig,
  CustomerConfig,
  DatabaseConfig,
  NodeConfig,
  NodeRole,
  ProtectedTableConfig,
  WitnzConfig,
  WitnzNodeConfig,
} from "./schema.js";

/** Every WITNZ_ variable that overrides a setting, with the setting's path, in file order. */
export function configEnvironmentVariables(): readonly { variable: string; path: string }[] {
  return OVERRIDABLE_SETTINGS.map((setting) => ({
    variable: setting.variable,
    path: formatPath(setting.path),
  }));
}

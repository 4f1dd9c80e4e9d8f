export type ConfigErrorCode =
  | "WITNZ_CONFIG_INVALID"
  | "WITNZ_CONFIG_SYNTAX"
  | "WITNZ_CONFIG_UNREADABLE";

/**
 * Every refusal of a configuration. `problems` holds one self-contained line per problem, in the
 * order found; `warnings` holds what was ignored on the way (unknown keys), which often explains a
 * problem ("node.id: missing" next to "unknown key node.ide").
 */
export class ConfigError extends Error {
  readonly code: ConfigErrorCode;
  /** The file path, or the name the caller gave to configuration text. */
  readonly source: string;
  readonly problems: readonly string[];
  readonly warnings: readonly string[];

  constructor(
    code: ConfigErrorCode,
    source: string,
    problems: readonly string[],
    options: { warnings?: readonly string[]; cause?: unknown } = {},
  ) {
    if (problems.length === 0) {
      throw new Error("ConfigError needs at least one problem");
    }
    const warnings = options.warnings ?? [];
    super(
      renderConfigError(code, source, problems, warnings),
      options.cause === undefined ? undefined : { cause: options.cause },
    );
    this.name = "ConfigError";
    this.code = code;
    this.source = source;
    this.problems = problems;
    this.warnings = warnings;
  }
}

/** The text the CLI prints for a refused configuration: a header, then one line per problem. */
export function formatConfigError(error: ConfigError): string {
  return renderConfigError(error.code, error.source, error.problems, error.warnings);
}

function renderConfigError(
  code: ConfigErrorCode,
  source: string,
  problems: readonly string[],
  warnings: readonly string[],
): string {
  const lines = [`${source}: ${headline(code, problems.length)}`];
  for (const problem of problems) lines.push(`  ${problem}`);
  for (const warning of warnings) lines.push(`  warning: ${warning}`);
  return lines.join("\n");
}

function headline(code: ConfigErrorCode, count: number): string {
  switch (code) {
    case "WITNZ_CONFIG_INVALID":
      return count === 1 ? "1 configuration problem" : `${count} configuration problems`;
    case "WITNZ_CONFIG_SYNTAX":
      return count === 1 ? "YAML syntax error" : `${count} YAML syntax errors`;
    case "WITNZ_CONFIG_UNREADABLE":
      return "cannot read the configuration file";
  }
}

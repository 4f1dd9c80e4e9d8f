import { LineCounter, parseDocument, type YAMLError } from "yaml";
import type { z } from "zod";
import {
  type ConfigPath,
  formatPath,
  isPathPrefix,
  isSecretPath,
  pathKey,
  showValue,
} from "./display.js";
import { environmentOverrides, misspelledVariableWarnings } from "./environment.js";
import { ConfigError } from "./errors.js";
import { type Environment, interpolateTree } from "./interpolate.js";
import { ruleProblems } from "./rules.js";
import { configSchema, type WitnzConfig } from "./schema.js";
import { isMapping, type Mapping, setAt, valueAt, withoutEmptyValues } from "./tree.js";
import { unknownKeyWarnings } from "./unknown-keys.js";

export const CONFIG_CHARACTERS_MAX = 1_048_576;
/** YAML aliases may not expand a small file into a huge tree. */
const YAML_ALIASES_MAX = 100;

export interface ParseConfigOptions {
  /** Variables for ${NAME} and WITNZ_ overrides. Default: none (parsing reads no ambient state). */
  readonly env?: Environment;
  /** Names the text in errors, usually its file path. */
  readonly source?: string;
}

export interface ConfigResult {
  readonly config: WitnzConfig;
  /** What was ignored: unknown keys, misspelled WITNZ_ variables, YAML warnings. */
  readonly warnings: readonly string[];
}

/**
 * Parses and validates configuration text. Order: YAML (every scalar read as text), unknown-key
 * warnings, ${NAME} interpolation, WITNZ_ overrides, validation, rules across fields. Throws a
 * ConfigError listing every problem found.
 */
export function parseConfig(yamlText: string, options: ParseConfigOptions = {}): ConfigResult {
  const source = options.source ?? "configuration text";
  const env = options.env ?? {};
  if (yamlText.length > CONFIG_CHARACTERS_MAX) {
    throw new ConfigError("WITNZ_CONFIG_INVALID", source, [
      `is ${yamlText.length} characters long; a configuration is at most ${CONFIG_CHARACTERS_MAX}`,
    ]);
  }
  const { tree: parsed, warnings: yamlWarnings } = readYaml(yamlText, source);
  const fileTree = withoutEmptyValues(parsed);
  if (!isMapping(fileTree)) {
    const found = parsed === null ? "the configuration is empty" : `found ${showValue(parsed)}`;
    throw new ConfigError("WITNZ_CONFIG_INVALID", source, [
      `${found}; a configuration is a mapping with the keys database, node and protected_tables`,
    ]);
  }
  const warnings = [...yamlWarnings, ...unknownKeyWarnings(fileTree)];
  const problems: string[] = [];
  const supersededPaths: ConfigPath[] = [];

  const overrides = environmentOverrides(env);
  const interpolation = interpolateTree(
    fileTree,
    env,
    new Set(overrides.overrides.map((override) => pathKey(override.path))),
  );
  for (const problem of [...interpolation.problems, ...overrides.problems]) {
    problems.push(`${formatPath(problem.path)}: ${problem.message}`);
    supersededPaths.push(problem.path);
  }

  const tree = interpolation.tree as Mapping;
  const fileHasDatabase = tree.database !== undefined;
  const databaseVariables: string[] = [];
  const overriddenPaths: { path: ConfigPath; variable: string }[] = [];
  for (const override of overrides.overrides) {
    if (!setAt(tree, override.path, override.value)) continue;
    overriddenPaths.push({ path: override.path, variable: override.variable });
    if (!fileHasDatabase && override.path[0] === "database") {
      databaseVariables.push(override.variable);
    }
  }
  warnings.push(...misspelledVariableWarnings(env, interpolation.referencedVariables));

  const rules = ruleProblems(tree, databaseVariables);
  for (const rule of rules) if (rule.supersedes === true) supersededPaths.push(rule.path);

  const result = configSchema.safeParse(tree, { error: issueMessage });
  if (!result.success) {
    for (const issue of result.error.issues) {
      const path = issue.path.filter(
        (segment): segment is string | number => typeof segment !== "symbol",
      );
      if (supersededPaths.some((superseded) => isPathPrefix(superseded, path))) continue;
      const origin = overriddenPaths.find((override) => isPathPrefix(override.path, path));
      const line = issueLine(issue, path, tree);
      problems.push(origin === undefined ? line : `${line} (from ${origin.variable})`);
    }
  }
  for (const rule of rules) problems.push(`${formatPath(rule.path)}: ${rule.message}`);

  if (problems.length > 0 || !result.success) {
    throw new ConfigError("WITNZ_CONFIG_INVALID", source, [...new Set(problems)], { warnings });
  }
  return { config: result.data, warnings };
}

function readYaml(text: string, source: string): { tree: unknown; warnings: string[] } {
  const lineCounter = new LineCounter();
  // The failsafe schema reads every scalar as text, so "0123", "yes" and "1e3" stay as written
  // and the schema alone gives each field its type; the null tag keeps `key:` and `key: ~` empty.
  const document = parseDocument(text, {
    schema: "failsafe",
    customTags: ["null"],
    prettyErrors: false,
    uniqueKeys: true,
    lineCounter,
  });
  if (document.errors.length > 0) {
    throw new ConfigError(
      "WITNZ_CONFIG_SYNTAX",
      source,
      document.errors.map((error) => yamlLine(error, lineCounter)),
    );
  }
  let tree: unknown;
  try {
    tree = document.toJS({ maxAliasCount: YAML_ALIASES_MAX });
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new ConfigError("WITNZ_CONFIG_SYNTAX", source, [sentence(reason)], { cause: error });
  }
  return { tree, warnings: document.warnings.map((warning) => yamlLine(warning, lineCounter)) };
}

function yamlLine(error: YAMLError, lineCounter: LineCounter): string {
  const { line, col } = lineCounter.linePos(error.pos[0]);
  return `line ${line}, column ${col}: ${sentence(error.message.split("\n")[0] ?? "")}`;
}

/** Lower-cases a message's first letter, unless it starts an acronym ("YAML ..."). */
function sentence(message: string): string {
  if (/^[A-Z][a-z]/.test(message)) return message[0]!.toLowerCase() + message.slice(1);
  return message;
}

/** Messages for zod's own issues; the value is shown in front of them by issueLine. */
function issueMessage(issue: z.core.$ZodRawIssue): string | undefined {
  if (issue.code !== "invalid_type") return undefined;
  if (issue.input === undefined) return "missing; required";
  switch (issue.expected) {
    case "object":
    case "record":
      return "is not a mapping; write key: value lines under it";
    case "array":
      return 'is not a list; write one "- " item per line';
    case "string":
      return "is not a single value";
    default:
      return undefined;
  }
}

function issueLine(issue: z.core.$ZodIssue, path: ConfigPath, tree: unknown): string {
  const value = valueAt(tree, path);
  if (value === undefined) return `${formatPath(path)}: ${issue.message}`;
  const shownByReader = issue.code === "custom" ? issue.params?.shown : undefined;
  const shown = isSecretPath(path)
    ? "***"
    : typeof shownByReader === "string"
      ? shownByReader
      : showValue(value);
  return `${formatPath(path)}: ${shown} ${issue.message}`;
}

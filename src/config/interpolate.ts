import { type ConfigPath, isSecretPath, pathKey } from "./display.js";
import { isMapping, type Mapping } from "./tree.js";

// ${NAME} is replaced by the environment variable NAME; ${NAME:-fallback} by the fallback when
// NAME is unset or empty; $${ writes a literal ${. Only values are interpolated, never keys, and
// a replacement is not interpolated again.

export type Environment = Readonly<Record<string, string | undefined>>;

export interface InterpolationProblem {
  readonly path: ConfigPath;
  readonly message: string;
}

export interface InterpolationResult {
  readonly tree: unknown;
  readonly problems: readonly InterpolationProblem[];
  /** Every variable named by a reference, set or not. */
  readonly referencedVariables: ReadonlySet<string>;
}

const REFERENCE = /^([A-Za-z_][A-Za-z0-9_]*)(?::-(.*))?$/s;

/** Interpolates every text value, except at the paths in `skippedPaths` (overridden ones). */
export function interpolateTree(
  tree: unknown,
  env: Environment,
  skippedPaths: ReadonlySet<string>,
): InterpolationResult {
  const problems: InterpolationProblem[] = [];
  const referencedVariables = new Set<string>();

  const visit = (value: unknown, path: ConfigPath): unknown => {
    if (skippedPaths.has(pathKey(path))) return value;
    if (typeof value === "string") {
      const result = interpolate(value, env, isSecretPath(path), referencedVariables);
      if (typeof result === "string") return result;
      problems.push({ path, message: result.problem });
      return value;
    }
    if (Array.isArray(value))
      return value.map((element, index) => visit(element, [...path, index]));
    if (isMapping(value)) {
      const result: Mapping = {};
      for (const [key, child] of Object.entries(value)) {
        Object.defineProperty(result, key, {
          value: visit(child, [...path, key]),
          enumerable: true,
          writable: true,
          configurable: true,
        });
      }
      return result;
    }
    return value;
  };

  return { tree: visit(tree, []), problems, referencedVariables };
}

function interpolate(
  text: string,
  env: Environment,
  secret: boolean,
  referencedVariables: Set<string>,
): string | { problem: string } {
  let result = "";
  let position = 0;
  while (position < text.length) {
    const dollar = text.indexOf("$", position);
    if (dollar === -1) {
      result += text.slice(position);
      break;
    }
    result += text.slice(position, dollar);
    if (text.startsWith("$${", dollar)) {
      result += "${";
      position = dollar + 3;
      continue;
    }
    if (text[dollar + 1] !== "{") {
      result += "$";
      position = dollar + 1;
      continue;
    }
    const close = text.indexOf("}", dollar + 2);
    if (close === -1) {
      return {
        problem: `has "\${" without a closing "}"; write \${NAME}, or $\${ for a literal \${`,
      };
    }
    const reference = text.slice(dollar, close + 1);
    const match = REFERENCE.exec(text.slice(dollar + 2, close));
    if (match === null) {
      const shown = secret ? "a reference" : `the reference ${reference}`;
      return {
        problem: `has ${shown} that is not \${NAME} or \${NAME:-fallback}; a NAME is letters, digits and _`,
      };
    }
    const [, name, fallback] = match as unknown as [string, string, string | undefined];
    referencedVariables.add(name);
    const value = env[name];
    if (fallback !== undefined) {
      result += value === undefined || value === "" ? fallback : value;
    } else if (value === undefined) {
      return {
        problem: `refers to \${${name}}, but the environment variable ${name} is not set; set it or write \${${name}:-fallback}`,
      };
    } else {
      result += value;
    }
    position = close + 1;
  }
  return result;
}

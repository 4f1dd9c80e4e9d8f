import type { ConfigPath } from "./display.js";
import type { Environment } from "./interpolate.js";
import { isNodeId, NODE_ID_RULE, readHostPort } from "./scalars.js";
import { OVERRIDABLE_SETTINGS } from "./schema-shape.js";
import { closestName } from "./suggest.js";

// WITNZ_<PATH> overrides the setting at PATH (see schema-shape.ts for the names). A variable
// that is unset or empty overrides nothing. Values are taken literally (no ${...}); they are
// text, read by the same rules as the file. WITNZ_NODE_PEER_ADDRS is "id=host:port,...".

export interface Override {
  readonly path: readonly string[];
  readonly variable: string;
  readonly value: unknown;
}

export interface OverrideProblem {
  readonly path: ConfigPath;
  readonly message: string;
}

export function environmentOverrides(env: Environment): {
  overrides: Override[];
  problems: OverrideProblem[];
} {
  const overrides: Override[] = [];
  const problems: OverrideProblem[] = [];
  for (const setting of OVERRIDABLE_SETTINGS) {
    const text = env[setting.variable];
    if (text === undefined || text === "") continue;
    const path = setting.path as readonly string[];
    if (setting.kind === "scalar") {
      overrides.push({ path, variable: setting.variable, value: text });
      continue;
    }
    const entries = readEntries(text);
    if (typeof entries === "string") {
      problems.push({ path, message: `${entries} (from ${setting.variable})` });
    } else {
      overrides.push({ path, variable: setting.variable, value: entries });
    }
  }
  return { overrides, problems };
}

function readEntries(text: string): Record<string, string> | string {
  const entries: Record<string, string> = {};
  for (const item of text.split(",").map((part) => part.trim())) {
    const equals = item.indexOf("=");
    if (equals <= 0) {
      return `${JSON.stringify(item)} is not id=host:port; write e.g. "node2=node2:7000,node3=node3:7000"`;
    }
    const id = item.slice(0, equals).trim();
    const address = item.slice(equals + 1).trim();
    if (!isNodeId(id)) return `${JSON.stringify(id)} is not a valid node id; ${NODE_ID_RULE}`;
    if (Object.hasOwn(entries, id)) return `${JSON.stringify(id)} is listed twice`;
    const addressResult = readHostPort(address);
    if (!addressResult.ok) return `${JSON.stringify(address)} ${addressResult.message}`;
    entries[id] = address;
  }
  return entries;
}

/**
 * Warnings for WITNZ_ variables that override nothing but are one slip from a name that would
 * (WITNZ_NODE_BOOTSRAP). Variables named by a ${...} reference are the file's own and are left
 * alone, as are names far from every setting (WITNZ_CONFIG).
 */
export function misspelledVariableWarnings(
  env: Environment,
  referencedVariables: ReadonlySet<string>,
): string[] {
  const known = OVERRIDABLE_SETTINGS.map((setting) => setting.variable);
  const knownSet = new Set(known);
  const warnings: string[] = [];
  for (const name of Object.keys(env).sort()) {
    if (!name.startsWith("WITNZ_") || knownSet.has(name) || referencedVariables.has(name)) continue;
    const closest = closestName(name, known);
    if (closest !== undefined) {
      warnings.push(
        `environment variable ${name} matches no setting (ignored); did you mean ${closest}?`,
      );
    }
  }
  return warnings;
}

import type { ConfigPath } from "./display.js";

// The configuration as read from YAML before validation: mappings, lists and text.

export type Mapping = Record<string, unknown>;

export function isMapping(value: unknown): value is Mapping {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

export function valueAt(tree: unknown, path: ConfigPath): unknown {
  let value = tree;
  for (const segment of path) {
    if (typeof segment === "number") {
      if (!Array.isArray(value)) return undefined;
      value = value[segment];
    } else {
      if (!isMapping(value) || !Object.hasOwn(value, segment)) return undefined;
      value = value[segment];
    }
  }
  return value;
}

/**
 * Sets a value under nested mappings, creating the missing ones. Returns false, changing
 * nothing, when a step of the path holds something other than a mapping.
 */
export function setAt(tree: Mapping, path: readonly string[], value: unknown): boolean {
  let mapping = tree;
  for (const segment of path.slice(0, -1)) {
    const next = mapping[segment];
    if (next === undefined) {
      const created: Mapping = {};
      mapping[segment] = created;
      mapping = created;
    } else if (isMapping(next)) {
      mapping = next;
    } else {
      return false;
    }
  }
  mapping[path[path.length - 1]!] = value;
  return true;
}

/** An empty value (`key:`, `key: ~`, `key: null`) in a mapping means the key is absent. */
export function withoutEmptyValues(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withoutEmptyValues);
  if (isMapping(value)) {
    const result: Mapping = {};
    for (const [key, child] of Object.entries(value)) {
      if (child === null || child === undefined) continue;
      // defineProperty, so that a key named __proto__ stays a plain (unknown) key.
      Object.defineProperty(result, key, {
        value: withoutEmptyValues(child),
        enumerable: true,
        writable: true,
        configurable: true,
      });
    }
    return result;
  }
  return value;
}

import { type ConfigPath, formatPath } from "./display.js";
import { CONFIG_SHAPE, knownMappingPaths, type SchemaShape } from "./schema-shape.js";
import { closestName } from "./suggest.js";
import { isMapping } from "./tree.js";

/**
 * One warning per key the schema does not know, with the closest known key when one is close:
 * a sibling by spelling, else the same key elsewhere (node.password -> database.password), else
 * a known key written one level too deep (witnz.hash_collection_timeout -> hash_collection_timeout).
 * Values under an unknown key are not inspected. Values of the wrong kind are left to validation.
 */
export function unknownKeyWarnings(tree: unknown): string[] {
  const warnings: string[] = [];
  visit(tree, CONFIG_SHAPE, [], warnings);
  return warnings;
}

function visit(value: unknown, shape: SchemaShape, path: ConfigPath, warnings: string[]): void {
  if (shape.kind === "mapping" && isMapping(value)) {
    for (const [key, child] of Object.entries(value)) {
      const childShape = shape.keys.get(key);
      if (childShape === undefined) {
        warnings.push(unknownKeyWarning(key, child, shape, path));
      } else {
        visit(child, childShape, [...path, key], warnings);
      }
    }
  } else if (shape.kind === "list" && Array.isArray(value)) {
    value.forEach((element, index) => {
      visit(element, shape.element, [...path, index], warnings);
    });
  }
}

function unknownKeyWarning(
  key: string,
  value: unknown,
  parent: { readonly keys: ReadonlyMap<string, SchemaShape> },
  path: ConfigPath,
): string {
  const warning = `unknown key ${formatPath([...path, key])} (ignored)`;
  const sibling = closestName(key, parent.keys.keys());
  if (sibling !== undefined) return `${warning}; did you mean ${formatPath([...path, sibling])}?`;
  const elsewhere = knownMappingPaths().find((known) => known[known.length - 1] === key);
  if (elsewhere !== undefined) return `${warning}; did you mean ${formatPath(elsewhere)}?`;
  // A known key one level too deep: `witnz: {hash_collection_timeout: 30s}`.
  const nested = isMapping(value)
    ? Object.keys(value).find((child) => parent.keys.has(child))
    : undefined;
  if (nested !== undefined) return `${warning}; did you mean ${formatPath([...path, nested])}?`;
  return warning;
}

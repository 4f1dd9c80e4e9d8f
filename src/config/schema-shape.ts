import type { z } from "zod";
import type { ConfigPath } from "./display.js";
import { configSchema } from "./schema.js";

// The configuration's tree of keys, read off the zod schema itself, so that the known keys (for
// unknown-key warnings) and the environment variable names cannot drift from the schema.

export type SchemaShape =
  | { readonly kind: "mapping"; readonly keys: ReadonlyMap<string, SchemaShape> }
  | { readonly kind: "list"; readonly element: SchemaShape }
  | { readonly kind: "map"; readonly value: SchemaShape }
  | { readonly kind: "scalar" };

type AnyDefinition = z.core.$ZodTypeDef & {
  readonly shape?: Readonly<Record<string, z.core.$ZodType>>;
  readonly innerType?: z.core.$ZodType;
  readonly in?: z.core.$ZodType;
  readonly element?: z.core.$ZodType;
  readonly valueType?: z.core.$ZodType;
};

function shapeOf(schema: z.core.$ZodType): SchemaShape {
  const definition = schema._zod.def as AnyDefinition;
  switch (definition.type) {
    case "pipe":
      return shapeOf(definition.in!);
    case "optional":
    case "default":
    case "prefault":
      return shapeOf(definition.innerType!);
    case "object":
      return {
        kind: "mapping",
        keys: new Map(
          Object.entries(definition.shape!).map(([key, value]) => [key, shapeOf(value)]),
        ),
      };
    case "array":
      return { kind: "list", element: shapeOf(definition.element!) };
    case "record":
      return { kind: "map", value: shapeOf(definition.valueType!) };
    default:
      return { kind: "scalar" };
  }
}

export const CONFIG_SHAPE: SchemaShape = shapeOf(configSchema);

export interface OverridableSetting {
  /** The path in YAML spelling, e.g. ["node", "bind_addr"]. */
  readonly path: ConfigPath;
  /** WITNZ_ + the upper-cased path joined with "_", e.g. WITNZ_NODE_BIND_ADDR. */
  readonly variable: string;
  /** "scalar" takes the text as is; "map" takes "key=value,key=value". */
  readonly kind: "scalar" | "map";
}

function overridableSettings(
  shape: SchemaShape,
  path: readonly string[],
  into: OverridableSetting[],
): OverridableSetting[] {
  if (shape.kind === "mapping") {
    for (const [key, child] of shape.keys) overridableSettings(child, [...path, key], into);
  } else if (shape.kind === "scalar" || shape.kind === "map") {
    const variable = `WITNZ_${path.map((segment) => segment.toUpperCase()).join("_")}`;
    into.push({ path, variable, kind: shape.kind });
  }
  return into;
}

/** Every setting an environment variable can override, in schema order. Lists are not. */
export const OVERRIDABLE_SETTINGS: readonly OverridableSetting[] = overridableSettings(
  CONFIG_SHAPE,
  [],
  [],
);

const variables = new Set(OVERRIDABLE_SETTINGS.map((setting) => setting.variable));
if (variables.size !== OVERRIDABLE_SETTINGS.length) {
  throw new Error("two configuration settings map to the same environment variable");
}

/** Known keys with their full paths, for suggesting "did you mean database.password?". */
export function knownMappingPaths(): readonly ConfigPath[] {
  const paths: ConfigPath[] = [];
  const visit = (shape: SchemaShape, path: ConfigPath): void => {
    if (shape.kind !== "mapping") return;
    for (const [key, child] of shape.keys) {
      paths.push([...path, key]);
      visit(child, [...path, key]);
    }
  };
  visit(CONFIG_SHAPE, []);
  return paths;
}

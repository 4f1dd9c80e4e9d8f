import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

/** The package version, read from the nearest package.json named "witnz" above this file. */
export function packageVersion(): string {
  let directory = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    try {
      const manifest = JSON.parse(readFileSync(join(directory, "package.json"), "utf8")) as {
        name?: string;
        version?: string;
      };
      if (manifest.name === "witnz" && manifest.version) return manifest.version;
    } catch {
      // No readable package.json here: keep walking up.
    }
    const parent = dirname(directory);
    if (parent === directory) return "0.0.0-unknown";
    directory = parent;
  }
}

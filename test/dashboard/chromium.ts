// Debian's chromium driven by playwright-core, for the dashboard's browser tests. Without a
// chromium on PATH the tests are skipped, except in CI, where a missing browser is a failure
// (.ci/run installs it).
import { existsSync } from "node:fs";
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";
import { type BrowserContext, chromium } from "playwright-core";

/** The first chromium on PATH. */
function findChromium(): string | undefined {
  for (const directory of (process.env.PATH ?? "").split(delimiter)) {
    for (const name of ["chromium", "chromium-browser"]) {
      const path = join(directory, name);
      if (directory !== "" && existsSync(path)) return path;
    }
  }
  return undefined;
}

export const chromiumPath = findChromium();
export const inCi =
  process.env.CI !== undefined && process.env.CI !== "" && process.env.CI !== "false";

export const ARTIFACTS = new URL("../../test-artifacts/", import.meta.url).pathname;

/** Says why a browser test is skipped, once per file that asks. */
export function warnWhenSkipped(what: string): void {
  if (chromiumPath === undefined && !inCi) {
    console.warn(`${what} skipped: no chromium on PATH (install Debian's chromium)`);
  }
}

/** A headless chromium with a fresh profile. */
export async function launchChromium(): Promise<BrowserContext> {
  const userDataDir = await mkdtemp(join(tmpdir(), "witnz-chromium-"));
  return chromium.launchPersistentContext(userDataDir, {
    executablePath: chromiumPath!,
    headless: true,
    viewport: { width: 1280, height: 1400 },
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
}

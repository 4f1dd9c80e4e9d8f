// The built browser app: index.html and its hashed assets, read once from disk and served from
// memory. The build writes it to dist/dashboard beside the compiled server.

import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { extname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { DashboardError } from "./errors.js";

/** The app's files together, at most; a larger folder is not the dashboard. */
const ASSETS_BYTES_MAX = 16 * 1024 * 1024;

const CONTENT_TYPES: Readonly<Record<string, string>> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".ico": "image/x-icon",
  ".json": "application/json",
  ".txt": "text/plain; charset=utf-8",
};

export interface DashboardAsset {
  readonly contentType: string;
  readonly body: Buffer;
}

/** URL path (`/`, `/assets/index-abc.js`) to file. */
export type DashboardAssets = ReadonlyMap<string, DashboardAsset>;

/**
 * Where the build puts the app, seen from this file: dist/dashboard beside dist/src when
 * compiled, <root>/dist/dashboard when run from the sources.
 */
export function defaultAssetsDirectory(): string | undefined {
  const candidates = ["../../../dist/dashboard/", "../../dist/dashboard/"].map((path) =>
    fileURLToPath(new URL(path, import.meta.url)),
  );
  return candidates.find((directory) => existsSync(join(directory, "index.html")));
}

export function loadDashboardAssets(directory: string): DashboardAssets {
  if (!existsSync(join(directory, "index.html"))) {
    throw new DashboardError(
      "WITNZ_DASHBOARD_ASSETS",
      `no built dashboard in ${directory} (npm run build writes it)`,
    );
  }
  const assets = new Map<string, DashboardAsset>();
  let total = 0;
  const walk = (folder: string): void => {
    for (const name of readdirSync(folder)) {
      const path = join(folder, name);
      if (statSync(path).isDirectory()) {
        walk(path);
        continue;
      }
      const body = readFileSync(path);
      total += body.length;
      if (total > ASSETS_BYTES_MAX) {
        throw new DashboardError(
          "WITNZ_DASHBOARD_ASSETS",
          `${directory} holds more than ${ASSETS_BYTES_MAX} bytes; it is not the dashboard`,
        );
      }
      const urlPath = `/${relative(directory, path).split("\\").join("/")}`;
      assets.set(urlPath, {
        contentType: CONTENT_TYPES[extname(name)] ?? "application/octet-stream",
        body,
      });
    }
  };
  walk(directory);
  assets.set("/", assets.get("/index.html")!);
  return assets;
}

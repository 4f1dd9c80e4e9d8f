// The dashboard in a real browser against a real node on a real PostgreSQL: the page shows the
// node and its table, an UPDATE on the protected table appears in the alert timeline, and entries
// found by sequence number and by primary key have their inclusion proofs verified in the page.
// Screenshots go to test-artifacts/ (chromium.ts says when the test is skipped).
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type pg from "pg";
import type { BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import type { WitnzConfig } from "../../src/config/index.js";
import { type RunningNode, startNode } from "../../src/node/index.js";
import { connectSession, startTestPostgres, type TestPostgres } from "../../src/postgres/index.js";
import { initNode } from "../../src/setup/index.js";
import { freePort, nodeConfig, recordingLogger, until } from "../node/helpers.js";
import { ARTIFACTS, chromiumPath, inCi, launchChromium, warnWhenSkipped } from "./chromium.js";

const ROOT = new URL("../../", import.meta.url).pathname;
/** The page polls its API every 2 s; a few rounds of it. */
const PATIENCE = { timeout: 15_000 };
const TABLE = "public.audit_log";
const ROWS = 20;

warnWhenSkipped("dashboard browser test");

describe.runIf(chromiumPath === undefined && inCi)("dashboard in a browser (CI)", () => {
  test("chromium is installed", () => {
    throw new Error("no chromium on PATH: CI must install it (see .ci/run)");
  });
});

describe.runIf(chromiumPath !== undefined)("dashboard in a browser", () => {
  let server: TestPostgres;
  let client: pg.Client;
  let directory: string;
  let config: WitnzConfig;
  let node: RunningNode;
  let context: BrowserContext;
  let page: Page;

  beforeAll(async () => {
    if (!existsSync(join(ROOT, "dist/dashboard/index.html"))) {
      // `npm run build` writes the app; a run of this file alone builds it here.
      const { build } = await import("vite");
      await build({ configFile: join(ROOT, "dashboard/vite.config.ts"), logLevel: "warn" });
    }
    await mkdir(ARTIFACTS, { recursive: true });
    server = await startTestPostgres();
    client = await connectSession({ connectionString: server.connectionString });
    await client.query(
      "CREATE TABLE public.audit_log (id bigint PRIMARY KEY, actor text NOT NULL, note text)",
    );
    directory = await mkdtemp(join(tmpdir(), "witnz-dashboard-browser-"));
    config = nodeConfig({
      server,
      nodeId: "dash1",
      dataDir: join(directory, "data"),
      httpPort: await freePort(),
      tables: [{ name: "audit_log" }],
    });
    const init = await initNode(config);
    expect(init.checks.filter((check) => check.status === "fail")).toEqual([]);
    // The node serves the dashboard on its own HTTP port.
    node = await startNode(config, { logger: recordingLogger() });
    context = await launchChromium();
    page = context.pages()[0] ?? (await context.newPage());
  });

  afterAll(async () => {
    await context?.close();
    await node?.stop();
    await client?.end();
    await server?.stop();
    if (directory) await rm(directory, { recursive: true, force: true });
  });

  test("shows the node and its table, alerts an UPDATE, verifies proofs in the page", async () => {
    for (let id = 1; id <= ROWS; id++) {
      await client.query("INSERT INTO public.audit_log VALUES ($1, $2, $3)", [
        id,
        `user${id}`,
        `row ${id}`,
      ]);
    }
    await until(() => (node.store.latestCheckpoint(TABLE)?.size ?? 0) >= ROWS, "rows captured");

    await page.goto(`${node.httpUrl}/`);
    await page.getByTestId("node-dash1").waitFor();
    const tableRow = page.getByTestId(`table-${TABLE}`);
    await expect.poll(() => tableRow.textContent(), { timeout: 15_000 }).toContain(String(ROWS));
    expect(await page.getByTestId("node-dash1").textContent()).toContain("leader");
    await page.screenshot({ path: join(ARTIFACTS, "dashboard-overview.png"), fullPage: true });

    await client.query("UPDATE public.audit_log SET actor = 'mallory' WHERE id = 7");
    const timeline = page.getByTestId("alert-timeline");
    await expect
      .poll(async () => ((await timeline.count()) === 0 ? "" : await timeline.textContent()), {
        timeout: 20_000,
      })
      .toContain('UPDATE on append-only table public.audit_log on primary key ["7"]');
    await page.screenshot({ path: join(ARTIFACTS, "dashboard-alert.png"), fullPage: true });

    await page.getByTestId("explorer-mode").selectOption("seq");
    await page.getByTestId("explorer-value").fill("5");
    await page.getByRole("button", { name: "Find" }).click();
    const verdict = page.getByTestId("proof-verdict");
    await verdict.waitFor();
    expect(await verdict.textContent()).toMatch(new RegExp(`^verified: leaf 4 of ${ROWS}`));
    expect(await page.getByTestId("entry-seq").textContent()).toBe("5");
    // The checkpoint's signature too, with the key the node reports (WebCrypto Ed25519).
    await expect
      .poll(() => page.getByTestId("signature-verdict").textContent(), PATIENCE)
      .toMatch(/^signature verified: signed by \S+\/node\/dash1 \(key id [0-9a-f]{8}\)/);
    await page.screenshot({ path: join(ARTIFACTS, "dashboard-proof-by-seq.png"), fullPage: true });

    await page.getByTestId("explorer-mode").selectOption("pk");
    await page.getByTestId("explorer-value").fill("13");
    await page.getByRole("button", { name: "Find" }).click();
    await expect.poll(() => page.getByTestId("entry-seq").textContent(), PATIENCE).toBe("13");
    await expect.poll(() => verdict.textContent(), PATIENCE).toMatch(/^verified: leaf 12 of /);
    await page.screenshot({ path: join(ARTIFACTS, "dashboard-proof-by-key.png"), fullPage: true });

    // The chart has points with the rows this node ingested (the node's own sampler).
    const series = (await (await fetch(`${node.httpUrl}/api/v1/series`)).json()) as {
      points: { rowsPerSecond: number }[];
    };
    expect(series.points.some((point) => point.rowsPerSecond > 0)).toBe(true);
    expect(await page.getByTestId("series-chart").locator("polyline").count()).toBe(2);
  });
});

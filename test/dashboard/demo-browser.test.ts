// The dashboard of a running `witnz demo` in a real browser: the three raft nodes with their
// leader and the three witnesses, the witnesses' unanimous verdicts, an UPDATE made here through
// the demo's database appearing in the alert timeline (one incident raised by every node), an
// entry's inclusion proof verified in the page, and a witness's own dashboard. Then Ctrl-C stops
// the demo cleanly. Screenshots go to test-artifacts/ (chromium.ts says when it is skipped).
import { type ChildProcess, spawn } from "node:child_process";
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import pg from "pg";
import type { BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import type { Overview } from "../../src/dashboard/index.js";
import { until } from "../support/until.js";
import { ARTIFACTS, chromiumPath, launchChromium, warnWhenSkipped } from "./chromium.js";

const BIN = new URL("../../dist/src/cli/bin.js", import.meta.url).pathname;
const RAFT_NODES = ["n1", "n2", "n3"];
/** The page polls its API every 2 s; a few rounds of it. */
const PATIENCE = { timeout: 15_000 };
const WITNESSES = ["w1", "w2", "w3"];

warnWhenSkipped("dashboard browser test against the demo");

/** `witnz demo` as a child process, its output collected line by line. */
class DemoProcess {
  readonly child: ChildProcess;
  stdout = "";
  stderr = "";
  readonly exited: Promise<number | null>;
  constructor(args: readonly string[]) {
    this.child = spawn(process.execPath, [BIN, "demo", ...args], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    this.child.stdout!.on("data", (chunk: Buffer) => {
      this.stdout += chunk.toString();
    });
    this.child.stderr!.on("data", (chunk: Buffer) => {
      this.stderr += chunk.toString();
    });
    this.exited = new Promise((resolve) => this.child.once("exit", (code) => resolve(code)));
  }
  /** The first capture group of `pattern` in the output, once it is printed. */
  printed(pattern: RegExp, timeoutMs = 120_000): Promise<string> {
    return until(
      () => {
        if (this.child.exitCode !== null) {
          throw new Error(`the demo exited ${this.child.exitCode}: ${this.stdout}${this.stderr}`);
        }
        return pattern.exec(this.stdout)?.[1];
      },
      `the demo to print ${pattern}`,
      timeoutMs,
    );
  }
}

describe.runIf(chromiumPath !== undefined)("the dashboard of a running demo", () => {
  let demo: DemoProcess;
  let context: BrowserContext;
  let page: Page;
  let database: pg.Client | undefined;

  beforeAll(async () => {
    await mkdir(ARTIFACTS, { recursive: true });
    // No scripted tampering: the test tampers itself and stops the demo with Ctrl-C.
    demo = new DemoProcess(["--no-tamper", "--duration", "10m"]);
    context = await launchChromium();
    page = context.pages()[0] ?? (await context.newPage());
  });

  afterAll(async () => {
    await database?.end().catch(() => undefined);
    await context?.close();
    if (demo?.child.exitCode === null) {
      demo.child.kill("SIGINT");
      await demo.exited;
    }
  });

  test("three nodes and the leader, witnesses' verdicts, an UPDATE alerted, a proof verified", async () => {
    const dashboard = await demo.printed(/^Dashboard: (http:\/\/\S+)\/$/m);
    const databaseUrl = await demo.printed(/try your own tampering: psql "(\S+)"/);
    const witnessUrl = await demo.printed(/witness w1: (http:\/\/\S+)\/ /);

    await page.goto(`${dashboard}/`);
    for (const id of [...RAFT_NODES, ...WITNESSES]) await page.getByTestId(`node-${id}`).waitFor();
    // Exactly one raft node carries the leader badge, and it is the leader the API names.
    await expect
      .poll(async () => {
        const leaders: string[] = [];
        for (const id of RAFT_NODES) {
          if ((await page.getByTestId(`node-${id}`).textContent())?.includes("leader")) {
            leaders.push(id);
          }
        }
        return leaders.length;
      }, PATIENCE)
      .toBe(1);
    const overview = (await (await fetch(`${dashboard}/api/v1/overview`)).json()) as Overview;
    expect(RAFT_NODES).toContain(overview.cluster.leaderId);
    expect(await page.getByTestId(`node-${overview.cluster.leaderId}`).textContent()).toContain(
      "leader",
    );
    for (const witness of WITNESSES) {
      expect(await page.getByTestId(`node-${witness}`).textContent()).toContain("witness");
      // Every witness votes unanimous on the nodes' checkpoints of the writer's table.
      await expect
        .poll(() => page.getByTestId(`verdict-${witness}-public.payments`).textContent(), {
          timeout: 60_000,
        })
        .toContain("unanimous");
    }
    await page.screenshot({ path: join(ARTIFACTS, "demo-dashboard-overview.png"), fullPage: true });

    // An UPDATE on an append-only table appears in the timeline, one incident every node raised.
    const timeline = page.getByTestId("alert-timeline");
    const timelineText = async () =>
      (await timeline.count()) === 0 ? "" : ((await timeline.textContent()) ?? "");
    const alertText = 'UPDATE on append-only table public.payments on primary key ["2"]';
    expect(await timelineText()).not.toContain(alertText);
    database = new pg.Client({ connectionString: databaseUrl });
    // The demo's PostgreSQL stops with it; the session's end then is expected.
    database.on("error", () => undefined);
    await database.connect();
    await database.query("UPDATE public.payments SET amount = 0 WHERE id = 2");
    await database.end();
    database = undefined;
    await expect.poll(timelineText, { timeout: 30_000 }).toContain(alertText);
    await expect.poll(timelineText, { timeout: 30_000 }).toContain("raised by n1, n2, n3");
    await page.screenshot({ path: join(ARTIFACTS, "demo-dashboard-alert.png"), fullPage: true });

    // An entry found by sequence number, its inclusion proof checked here in the page.
    await page.getByTestId("explorer-table").selectOption("public.audit_log");
    await page.getByTestId("explorer-mode").selectOption("seq");
    await page.getByTestId("explorer-value").fill("3");
    await page.getByRole("button", { name: "Find" }).click();
    await expect.poll(() => page.getByTestId("entry-seq").textContent(), PATIENCE).toBe("3");
    await expect
      .poll(() => page.getByTestId("proof-verdict").textContent(), PATIENCE)
      .toMatch(/^verified: leaf 2 of /);
    await expect
      .poll(() => page.getByTestId("signature-verdict").textContent(), PATIENCE)
      .toMatch(/^signature verified: signed by witnz\/demo\/node\/n1 \(key id [0-9a-f]{8}\)/);
    await page.screenshot({ path: join(ARTIFACTS, "demo-dashboard-proof.png"), fullPage: true });

    // A witness serves its own dashboard: itself, the nodes reporting to it, its verdicts.
    await page.goto(`${witnessUrl}/`);
    await page.getByTestId("node-w1").waitFor();
    expect(await page.getByTestId("node-w1").textContent()).toContain("this node");
    for (const id of RAFT_NODES) await page.getByTestId(`node-${id}`).waitFor();
    await expect
      .poll(() => page.getByTestId("verdict-w1-public.audit_log").textContent(), PATIENCE)
      .toContain("unanimous");
    expect(await page.getByTestId("witness-note").textContent()).toContain("never rows");
    await page.screenshot({ path: join(ARTIFACTS, "demo-witness-dashboard.png"), fullPage: true });

    // Ctrl-C: every process and PostgreSQL stop, exit 130.
    demo.child.kill("SIGINT");
    expect(await demo.exited).toBe(130);
    expect(demo.stdout).toContain("Interrupted (Ctrl-C).");
    expect(demo.stdout).toContain(
      "Stopping the writer, the raft nodes, the witnesses and PostgreSQL",
    );
    const gone = await fetch(`${dashboard}/healthz`).then(
      () => false,
      () => true,
    );
    expect(gone).toBe(true);
  }, 300_000);
});

import { createServer } from "node:net";
import { Writable } from "node:stream";
import { afterEach, describe, expect, test } from "vitest";
import { createNodeMetrics, type HttpServer, startHttpServer } from "../../src/http/index.js";
import { createLogger } from "../../src/log/index.js";

const servers: HttpServer[] = [];
afterEach(async () => {
  for (const server of servers.splice(0)) await server.close();
});

describe("http server", () => {
  test("healthz, readyz and metrics answer on a real port", async () => {
    const metrics = createNodeMetrics();
    let readiness = { ready: false, reasons: ["replication is not streaming"] };
    const server = await startHttpServer({
      host: "127.0.0.1",
      port: 0,
      readiness: () => readiness,
      registry: metrics.registry,
    });
    servers.push(server);

    const health = await fetch(`${server.url}/healthz`);
    expect(health.status).toBe(200);
    expect(await health.json()).toEqual({ status: "ok" });

    const notReady = await fetch(`${server.url}/readyz`);
    expect(notReady.status).toBe(503);
    expect(await notReady.json()).toEqual({
      status: "not_ready",
      reasons: ["replication is not streaming"],
    });
    readiness = { ready: true, reasons: [] };
    const ready = await fetch(`${server.url}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({ status: "ready", reasons: [] });

    metrics.rowsCaptured.inc({ table: "public.orders" }, 3);
    metrics.replicationLagBytes.set(4096);
    metrics.alertsDelivered.inc({ kind: "append_only_violation", sink: "webhook" });
    metrics.verificationRuns.inc({ table: "public.orders", outcome: "clean" });
    metrics.violations.inc({ table: "public.orders", kind: "update" });
    const response = await fetch(`${server.url}/metrics`);
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toMatch(/^text\/plain; version=0\.0\.4/);
    const text = await response.text();
    expect(text).toContain('witnz_rows_captured_total{table="public.orders"} 3');
    expect(text).toContain("witnz_replication_lag_bytes 4096");
    expect(text).toContain(
      'witnz_alerts_delivered_total{kind="append_only_violation",sink="webhook"} 1',
    );
    expect(text).toContain(
      'witnz_verification_runs_total{table="public.orders",outcome="clean"} 1',
    );
    expect(text).toContain('witnz_violations_total{table="public.orders",kind="update"} 1');
    expect(text).toContain("# TYPE witnz_replication_lag_seconds gauge");

    expect((await fetch(`${server.url}/nothing`)).status).toBe(404);
  });

  test("two nodes in one process keep their own metrics", () => {
    const first = createNodeMetrics();
    const second = createNodeMetrics();
    first.rowsCaptured.inc({ table: "t" });
    expect(second.registry).not.toBe(first.registry);
  });

  test("a taken port fails with WITNZ_HTTP_LISTEN naming the address", async () => {
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, "127.0.0.1", () => resolve()));
    const port = (blocker.address() as { port: number }).port;
    try {
      await expect(
        startHttpServer({
          host: "127.0.0.1",
          port,
          readiness: () => ({ ready: true, reasons: [] }),
          registry: createNodeMetrics().registry,
        }),
      ).rejects.toMatchObject({
        code: "WITNZ_HTTP_LISTEN",
        message: expect.stringContaining(`cannot listen on 127.0.0.1:${port}`),
      });
    } finally {
      await new Promise<void>((resolve) => blocker.close(() => resolve()));
    }
  });
});

describe("logger", () => {
  test("writes JSON lines with level label, ISO time and node id, honouring the level", async () => {
    const lines: string[] = [];
    const destination = new Writable({
      write(chunk, _encoding, callback) {
        lines.push(...chunk.toString("utf8").split("\n").filter(Boolean));
        callback();
      },
    });
    const logger = createLogger({ level: "info", nodeId: "node-1", destination });
    logger.debug("hidden");
    logger.info({ table: "public.orders" }, "captured");
    logger.error({ err: Object.assign(new Error("down"), { code: "WITNZ_X" }) }, "failed");
    await new Promise((resolve) => setImmediate(resolve));
    expect(lines).toHaveLength(2);
    const first = JSON.parse(lines[0]!);
    expect(first).toMatchObject({
      level: "info",
      node: "node-1",
      table: "public.orders",
      msg: "captured",
    });
    expect(Number.isNaN(Date.parse(first.time))).toBe(false);
    expect(JSON.parse(lines[1]!)).toMatchObject({
      level: "error",
      err: { code: "WITNZ_X", message: "down" },
    });
  });
});

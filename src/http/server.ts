import type { AddressInfo } from "node:net";
import Fastify from "fastify";
import type { Registry } from "prom-client";
import { type DashboardOptions, registerDashboard } from "../dashboard/index.js";
import { HttpError } from "./errors.js";

/** Whether the node can do its job now, and if not, why (one short sentence per reason). */
export interface Readiness {
  readonly ready: boolean;
  readonly reasons: readonly string[];
}

export interface HttpServerOptions {
  readonly host: string;
  /** 0 picks a free port. */
  readonly port: number;
  /** Asked on every GET /readyz; must be cheap and must not throw. */
  readonly readiness: () => Readiness;
  readonly registry: Registry;
  /** A request that takes longer is answered 503 by Node's HTTP server. */
  readonly requestTimeoutMs?: number;
  /** GET /cluster answers this (a raft node in a cluster; docs/design/status.md). */
  readonly cluster?: () => unknown;
  /** Serve the dashboard app at / and its API under /api/v1/ (docs/design/dashboard.md). */
  readonly dashboard?: DashboardOptions;
}

export interface HttpServer {
  /** `http://host:port`, with the port actually bound. */
  readonly url: string;
  readonly port: number;
  close(): Promise<void>;
}

const REQUEST_TIMEOUT_MS_DEFAULT = 10_000;
const BODY_BYTES_MAX = 16 * 1024;

/**
 * GET /healthz: 200 {"status":"ok"} while the process serves requests.
 * GET /readyz: 200 {"status":"ready","reasons":[]} or 503 {"status":"not_ready","reasons":[...]}.
 * GET /metrics: the registry in the Prometheus text format.
 * With `cluster`: GET /cluster, the node's view of its cluster as JSON.
 * With `dashboard`: GET / (the browser app) and GET /api/v1/... (its read-only API).
 */
export async function startHttpServer(options: HttpServerOptions): Promise<HttpServer> {
  const app = Fastify({
    logger: false,
    bodyLimit: BODY_BYTES_MAX,
    requestTimeout: options.requestTimeoutMs ?? REQUEST_TIMEOUT_MS_DEFAULT,
  });
  app.get("/healthz", async () => ({ status: "ok" }));
  app.get("/readyz", async (_request, reply) => {
    const { ready, reasons } = options.readiness();
    return reply
      .code(ready ? 200 : 503)
      .send({ status: ready ? "ready" : "not_ready", reasons: [...reasons] });
  });
  app.get("/metrics", async (_request, reply) => {
    const text = await options.registry.metrics();
    return reply.header("content-type", options.registry.contentType).send(text);
  });
  const cluster = options.cluster;
  if (cluster !== undefined) app.get("/cluster", async () => cluster());
  if (options.dashboard !== undefined) registerDashboard(app, options.dashboard);
  try {
    await app.listen({ host: options.host, port: options.port });
  } catch (error) {
    await app.close();
    throw new HttpError(
      "WITNZ_HTTP_LISTEN",
      `cannot listen on ${options.host}:${options.port}: ${error instanceof Error ? error.message : String(error)}`,
      { cause: error },
    );
  }
  const address = app.server.address() as AddressInfo;
  const host = address.family === "IPv6" ? `[${address.address}]` : address.address;
  return {
    url: `http://${host}:${address.port}`,
    port: address.port,
    close: () => app.close(),
  };
}

// The dashboard on a node's HTTP server: the browser app at / and the JSON API under /api/v1/,
// every API request checked by the loopback-or-token rule (auth.ts). Read-only: GET only.

import type { FastifyInstance, FastifyReply } from "fastify";
import {
  ALERTS_LIMIT_DEFAULT,
  ALERTS_LIMIT_MAX,
  type ApiProblem,
  DASHBOARD_API_PREFIX,
  type DashboardRoute,
  type DashboardRoutes,
  type EntryQuery,
} from "./api.js";
import { type DashboardAssets, defaultAssetsDirectory, loadDashboardAssets } from "./assets.js";
import { decideAccess } from "./auth.js";
import { DashboardError } from "./errors.js";
import type { DashboardSource } from "./source.js";

/** Primary key columns a lookup may name, at most. */
const PRIMARY_KEY_PARTS_MAX = 32;

export interface DashboardOptions {
  readonly source: DashboardSource;
  /**
   * Requests from other than a loopback address must send `Authorization: Bearer <token>`.
   * Without a token the API answers loopback addresses only.
   */
  readonly token?: string;
  /** The built app; by default dist/dashboard. Without one, / says how to build it. */
  readonly assetsDirectory?: string;
}

type Query = Record<string, string | string[] | undefined>;

function problem(reply: FastifyReply, status: number, error: string, message: string) {
  const body: ApiProblem = { error, message };
  return reply.code(status).header("cache-control", "no-store").send(body);
}

function single(query: Query, name: string): string | undefined {
  const value = query[name];
  return Array.isArray(value) ? value[0] : value;
}

function parsePositiveInteger(text: string | undefined, name: string): number | undefined {
  if (text === undefined) return undefined;
  if (!/^[1-9][0-9]{0,15}$/.test(text) || !Number.isSafeInteger(Number(text))) {
    throw new DashboardError("WITNZ_DASHBOARD_QUERY", `${name} must be a positive integer`);
  }
  return Number(text);
}

export function parseEntryQuery(query: Query): EntryQuery {
  const table = single(query, "table");
  if (table === undefined || table.length === 0) {
    throw new DashboardError("WITNZ_DASHBOARD_QUERY", "name the table: ?table=schema.table");
  }
  const seq = parsePositiveInteger(single(query, "seq"), "seq");
  const pk = query.pk;
  const primaryKey = pk === undefined ? [] : Array.isArray(pk) ? pk : [pk];
  if (seq !== undefined && primaryKey.length > 0) {
    throw new DashboardError("WITNZ_DASHBOARD_QUERY", "give seq or pk, not both");
  }
  if (seq !== undefined) return { table, seq };
  if (primaryKey.length === 0) {
    throw new DashboardError("WITNZ_DASHBOARD_QUERY", "give seq=N or one pk=V per key column");
  }
  if (primaryKey.length > PRIMARY_KEY_PARTS_MAX) {
    throw new DashboardError(
      "WITNZ_DASHBOARD_QUERY",
      `a primary key has at most ${PRIMARY_KEY_PARTS_MAX} columns`,
    );
  }
  return { table, primaryKey };
}

/** Registers the app and the API on `app`. Call before the server listens. */
export function registerDashboard(app: FastifyInstance, options: DashboardOptions): void {
  const { source } = options;
  const directory = options.assetsDirectory ?? defaultAssetsDirectory();
  const assets: DashboardAssets | undefined =
    directory === undefined ? undefined : loadDashboardAssets(directory);

  const route = <Route extends DashboardRoute>(
    path: Route,
    answer: (query: Query) => Promise<DashboardRoutes[Route]["response"]>,
  ): void => {
    app.get(path, async (request, reply) => {
      const access = decideAccess(
        request.socket.remoteAddress,
        request.headers.authorization,
        options.token,
      );
      if (!access.allowed) {
        if (access.status === 401) reply.header("www-authenticate", "Bearer");
        return problem(reply, access.status, "unauthorized", access.message);
      }
      try {
        const body = await answer(request.query as Query);
        return reply.header("cache-control", "no-store").send(body);
      } catch (error) {
        if (error instanceof DashboardError && error.code === "WITNZ_DASHBOARD_QUERY") {
          return problem(reply, 400, "bad_query", error.message);
        }
        throw error;
      }
    });
  };

  route("/api/v1/overview", () => source.overview());
  route("/api/v1/alerts", (query) =>
    source.alerts(
      Math.min(
        parsePositiveInteger(single(query, "limit"), "limit") ?? ALERTS_LIMIT_DEFAULT,
        ALERTS_LIMIT_MAX,
      ),
    ),
  );
  route("/api/v1/witnesses", () => source.witnesses());
  route("/api/v1/entry", (query) => source.entry(parseEntryQuery(query)));
  route("/api/v1/series", () => source.series());
  app.get(`${DASHBOARD_API_PREFIX}/*`, async (_request, reply) =>
    problem(reply, 404, "not_found", "no such dashboard API route"),
  );

  const serveAsset = async (path: string, reply: FastifyReply) => {
    if (assets === undefined) {
      return reply
        .code(503)
        .type("text/plain; charset=utf-8")
        .send("the dashboard is not built: npm run build writes it to dist/dashboard\n");
    }
    const asset = assets.get(path);
    if (asset === undefined) return problem(reply, 404, "not_found", `no ${path}`);
    // Hashed asset names change with their content; index.html must always be asked again.
    const immutable = path.startsWith("/assets/");
    return reply
      .header("content-type", asset.contentType)
      .header("cache-control", immutable ? "public, max-age=31536000, immutable" : "no-cache")
      .header("x-content-type-options", "nosniff")
      .header(
        "content-security-policy",
        "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; frame-ancestors 'none'",
      )
      .send(asset.body);
  };
  app.get("/", (_request, reply) => serveAsset("/", reply));
  app.get("/assets/*", (request, reply) => serveAsset(request.url.split("?")[0]!, reply));
}

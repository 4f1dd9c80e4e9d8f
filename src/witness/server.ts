// WitnzService over ConnectRPC on one HTTP/2 port: gRPC, gRPC-Web and Connect, in plaintext
// (h2c, for loopback and private networks) or TLS when a certificate and key are given.
import http2 from "node:http2";
import type { AddressInfo } from "node:net";
import { create } from "@bufbuild/protobuf";
import { connectNodeAdapter } from "@connectrpc/connect-node";
import type { QueryAuth } from "../gen/witnz_pb.js";
import {
  GetCosignedCheckpointResponseSchema,
  GetVerdictResponseSchema,
  ListLatestResponseSchema,
  SubmitBatchResponseSchema,
  SubmitHashResponseSchema,
  WitnzService,
} from "../gen/witnz_pb.js";
import {
  fromSubmitBatch,
  fromSubmitHash,
  safeNumber,
  toProtoStatus,
  toProtoVerdict,
} from "./convert.js";
import {
  type QueryFields,
  type QueryMethod,
  RPC_MESSAGE_BYTES_MAX,
  type SubmissionRequest,
} from "./core/index.js";
import { WitnessError } from "./errors.js";
import type { WitnessMetrics } from "./metrics.js";
import { rejectionError } from "./rpc-errors.js";
import type { WitnessService } from "./witness-service.js";

export interface WitnessServerOptions {
  readonly service: WitnessService;
  readonly metrics: WitnessMetrics;
  readonly host: string;
  /** 0 picks a free port. */
  readonly port: number;
  /** PEM certificate and key: serve TLS. Without them: plaintext HTTP/2. */
  readonly tls?: { readonly certificate: string | Buffer; readonly key: string | Buffer };
  readonly cosignerVerifierKey: string;
}

export interface WitnessServer {
  /** `http://host:port` or `https://host:port`, with the port actually bound. */
  readonly url: string;
  close(): Promise<void>;
}

export async function startWitnessServer(options: WitnessServerOptions): Promise<WitnessServer> {
  const { service, metrics } = options;
  const submit = async (request: SubmissionRequest) => {
    const result = await service.submit(request);
    if (!result.ok) throw rejectionError(result.code, result.message);
    return result;
  };
  // A query is answered only for a node of the customer asked about (core/query.ts).
  const authorize = async (
    method: QueryMethod,
    request: { customerId: string; auth?: QueryAuth | undefined },
    asked: Pick<QueryFields, "table" | "size"> = {},
  ): Promise<void> => {
    metrics.requests.inc({ rpc: method });
    const { auth } = request;
    const refusal = await service.authorizeQuery(
      auth === undefined
        ? undefined
        : {
            method,
            customerId: request.customerId,
            nodeId: auth.nodeId,
            witnessId: auth.witnessId,
            timeUnixSeconds: auth.timeUnixSeconds < 0n ? -1 : safeNumber(auth.timeUnixSeconds),
            nonce: Buffer.from(auth.nonce).toString("hex"),
            ...asked,
          },
      auth?.signature ?? new Uint8Array(),
    );
    if (refusal !== undefined) {
      metrics.rejections.inc({ code: refusal.code });
      throw rejectionError(refusal.code, refusal.message);
    }
  };
  const handler = connectNodeAdapter({
    readMaxBytes: RPC_MESSAGE_BYTES_MAX,
    routes: (router) =>
      router.service(WitnzService, {
        submitHash: async (request) => {
          metrics.requests.inc({ rpc: "SubmitHash" });
          const result = await submit(fromSubmitHash(request));
          const first = result.results[0]!;
          return create(SubmitHashResponseSchema, {
            result: {
              table: first.table,
              size: BigInt(first.size),
              status: toProtoStatus(first.status),
            },
            acceptedSequence: BigInt(result.sequence),
          });
        },
        submitBatch: async (request) => {
          metrics.requests.inc({ rpc: "SubmitBatch" });
          const result = await submit(fromSubmitBatch(request));
          return create(SubmitBatchResponseSchema, {
            results: result.results.map((entry) => ({
              table: entry.table,
              size: BigInt(entry.size),
              status: toProtoStatus(entry.status),
            })),
            acceptedSequence: BigInt(result.sequence),
          });
        },
        getVerdict: async (request) => {
          await authorize("GetVerdict", request, {
            table: request.table,
            size: safeNumber(request.size),
          });
          const verdict = service.verdict(
            request.customerId,
            request.table,
            safeNumber(request.size),
          );
          return create(GetVerdictResponseSchema, {
            found: verdict !== undefined,
            ...(verdict === undefined ? {} : { verdict: toProtoVerdict(verdict) }),
          });
        },
        listLatest: async (request) => {
          await authorize("ListLatest", request);
          return create(ListLatestResponseSchema, {
            witnessId: service.witnessId,
            cosignerVerifierKey: options.cosignerVerifierKey,
            tables: service.latest(request.customerId).map((entry) => ({
              table: entry.table,
              verdict: toProtoVerdict(entry.verdict),
              cosignedCheckpoint: entry.cosigned?.note ?? "",
            })),
          });
        },
        getCosignedCheckpoint: async (request) => {
          await authorize("GetCosignedCheckpoint", request, { table: request.table });
          const cosigned = service.cosigned(request.customerId, request.table);
          return create(GetCosignedCheckpointResponseSchema, {
            found: cosigned !== undefined,
            size: BigInt(cosigned?.size ?? 0),
            checkpoint: cosigned?.note ?? "",
          });
        },
      }),
  });
  const server =
    options.tls === undefined
      ? http2.createServer(handler)
      : http2.createSecureServer(
          {
            cert: options.tls.certificate,
            key: options.tls.key,
            minVersion: "TLSv1.3",
            allowHTTP1: false,
          },
          handler,
        );
  const sessions = new Set<http2.ServerHttp2Session>();
  server.on("session", (session) => {
    sessions.add(session);
    session.on("close", () => sessions.delete(session));
  });
  // A client that goes away mid-stream is its own business; it must not crash the witness.
  server.on("sessionError", () => undefined);
  await new Promise<void>((resolve, reject) => {
    server.once("error", (error) =>
      reject(
        new WitnessError(
          "WITNZ_WITNESS_START",
          `the witness cannot listen on ${options.host}:${options.port}: ${error.message}`,
          { cause: error },
        ),
      ),
    );
    server.listen(options.port, options.host, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  const host = options.host.includes(":") ? `[${options.host}]` : options.host;
  return {
    url: `${options.tls === undefined ? "http" : "https"}://${host}:${port}`,
    close: async () => {
      for (const session of sessions) {
        session.destroy(new Error("the witness is stopping"), http2.constants.NGHTTP2_CANCEL);
      }
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

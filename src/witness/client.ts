// One connection to one witness: a ConnectRPC client over HTTP/2, gRPC protocol for
// submissions (what any gRPC client would speak), plaintext or TLS by the URL's scheme.
import { readFileSync } from "node:fs";
import { type Client, createClient } from "@connectrpc/connect";
import { createGrpcTransport, Http2SessionManager } from "@connectrpc/connect-node";
import type { WitnzConfig } from "../config/index.js";
import { WitnzService } from "../gen/witnz_pb.js";
import { RPC_MESSAGE_BYTES_MAX } from "./core/index.js";
import { WitnessError } from "./errors.js";

export interface WitnessEndpoint {
  /** The witness's own node id: queries are signed for it, and messages and metrics name it. */
  readonly id: string;
  /** `http://host:port` (plaintext HTTP/2) or `https://host:port` (TLS). */
  readonly url: string;
  /** PEM CA certificate to trust for an https URL (the system's CAs otherwise). */
  readonly ca?: string | Buffer;
}

/** The witnesses a raft node's configuration names (`witnz_nodes`), TLS where a CA is given. */
export function witnessEndpoints(config: WitnzConfig): WitnessEndpoint[] {
  return config.witnzNodes.map((witness) => ({
    id: witness.id,
    url: `${witness.tlsCaFile === undefined ? "http" : "https"}://${witness.address}`,
    ...(witness.tlsCaFile === undefined ? {} : { ca: readCa(witness.id, witness.tlsCaFile) }),
  }));
}

function readCa(witness: string, path: string): Buffer {
  try {
    return readFileSync(path);
  } catch (error) {
    throw new WitnessError(
      "WITNZ_WITNESS_CONFIG",
      `cannot read witness ${witness}'s tls_ca_file ${path}: ${(error as Error).message}`,
    );
  }
}

/** Longest timer Node accepts: in effect, never idle-close (see the Raft transport's note). */
const CONNECTION_IDLE_TIMEOUT_MS = 2 ** 31 - 1;

export interface WitnessConnection {
  readonly client: Client<typeof WitnzService>;
  close(): void;
}

export function connectWitness(endpoint: WitnessEndpoint): WitnessConnection {
  const tls = endpoint.url.startsWith("https:");
  const sessionManager = new Http2SessionManager(
    endpoint.url,
    { idleConnectionTimeoutMs: CONNECTION_IDLE_TIMEOUT_MS },
    tls ? { ...(endpoint.ca === undefined ? {} : { ca: endpoint.ca }), minVersion: "TLSv1.3" } : {},
  );
  const client = createClient(
    WitnzService,
    createGrpcTransport({
      baseUrl: endpoint.url,
      sessionManager,
      readMaxBytes: RPC_MESSAGE_BYTES_MAX,
      writeMaxBytes: RPC_MESSAGE_BYTES_MAX,
    }),
  );
  return { client, close: () => sessionManager.abort() };
}

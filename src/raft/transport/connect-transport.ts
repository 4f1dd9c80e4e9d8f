// The Raft transport over ConnectRPC on HTTP/2 with mutual TLS. Each node serves RaftService
// and keeps one client session per peer. Both sides present a certificate signed by the
// cluster CA; the receiver takes the sender's identity from its certificate's common name and
// refuses messages that claim another sender.
import http2 from "node:http2";
import type { AddressInfo } from "node:net";
import { checkServerIdentity, type PeerCertificate, type TLSSocket } from "node:tls";
import { create } from "@bufbuild/protobuf";
import {
  type Client,
  Code,
  ConnectError,
  createClient,
  createContextKey,
  createContextValues,
} from "@connectrpc/connect";
import {
  connectNodeAdapter,
  createConnectTransport,
  Http2SessionManager,
} from "@connectrpc/connect-node";
import {
  FetchSeedRequestSchema,
  JoinRequestSchema,
  ProposeRequestSchema,
  RaftService,
  SendRequestSchema,
} from "../../gen/raft_pb.js";
import type { Message, NodeId, RaftTransport } from "../index.js";
import { RaftRunnerError } from "../index.js";
import { decodeMessage, encodeMessage } from "./message-codec.js";

/** Messages waiting for one peer; newer ones are dropped when full (Raft retries). */
export const PEER_QUEUE_MESSAGES_MAX = 4096;
/** Messages in one Send call. */
export const SEND_BATCH_MESSAGES_MAX = 256;
/** Bytes of one Send call, either way (an InstallSnapshot travels whole, for now). */
export const SEND_BYTES_MAX = 64 * 1024 * 1024;
/** A Send that takes longer is abandoned; its messages are lost. */
export const SEND_TIMEOUT_MS = 5_000;
/** Pause after a failed Send before the next, so an unreachable peer costs no busy loop. */
export const SEND_RETRY_DELAY_MS = 100;

/** Bytes of one proposed command (a cluster command is at most 8 KiB). */
export const PROPOSE_BYTES_MAX = 64 * 1024;

/**
 * Appends a member's command through this node (the leader) and resolves with its log index once
 * applied. `peer` is the caller's certificate common name. Throw a ConnectError to choose the
 * code the caller sees; any other error reaches it as UNAVAILABLE with its message.
 */
export type ProposalHandler = (peer: string, command: Uint8Array) => Promise<number>;

/** A store seed as pieces of raw entries (key, value), in key order. */
export type SeedChunks = AsyncIterable<readonly (readonly [Uint8Array, Uint8Array])[]>;
/** Produces this node's seed for `peer` (its certificate's common name). */
export type SeedHandler = (peer: string) => SeedChunks;
/** Takes a member's announced address; resolves whether it is now a voter. */
export type JoinHandler = (peer: string, address: string) => Promise<boolean>;
/** A join that takes longer is abandoned (the leader waits for the caller to catch up). */
export const JOIN_TIMEOUT_MS = 60_000;
/** A seed request that takes longer is abandoned. */
export const FETCH_SEED_TIMEOUT_MS = 10 * 60_000;

export interface TlsFiles {
  /** PEM: the cluster CA, this node's certificate (CN = node id) and its private key. */
  readonly ca: string | Buffer;
  readonly certificate: string | Buffer;
  readonly key: string | Buffer;
}

export interface ConnectTransportOptions {
  readonly id: string;
  readonly clusterId: string;
  /** Where to listen: host and port (port 0 picks a free one; see `address()`). */
  readonly listenHost: string;
  readonly listenPort: number;
  readonly tls: TlsFiles;
}

/** Longest timer Node accepts (about 24.8 days): in effect, never. */
const CONNECTION_IDLE_TIMEOUT_MS = 2 ** 31 - 1;
const peerIdentityKey = createContextKey<string | null>(null);

interface PeerLink {
  address: string;
  readonly queue: Message[];
  sessionManager: Http2SessionManager | null;
  client: Client<typeof RaftService> | null;
  draining: Promise<void> | null;
}

export class ConnectRaftTransport implements RaftTransport {
  private readonly id: NodeId;
  private readonly peers = new Map<NodeId, PeerLink>();
  private readonly sessions = new Set<http2.ServerHttp2Session>();
  private server: http2.Http2SecureServer | null = null;
  private receive: ((message: Message) => void) | null = null;
  private proposalHandler: ProposalHandler | null = null;
  private seedHandler: SeedHandler | null = null;
  private joinHandler: JoinHandler | null = null;
  private closed = false;
  /** Failures of incoming or outgoing calls, most recent last (for tests and metrics). */
  readonly refusals: string[] = [];

  constructor(private readonly options: ConnectTransportOptions) {
    this.id = options.id as NodeId;
  }

  async start(receive: (message: Message) => void): Promise<void> {
    this.receive = receive;
    const transport = this;
    const handler = connectNodeAdapter({
      readMaxBytes: SEND_BYTES_MAX,
      contextValues: (request) =>
        createContextValues().set(peerIdentityKey, commonName(request.socket as TLSSocket)),
      routes: (router) =>
        router.service(RaftService, {
          send: async (request, context) => {
            const peer = context.values.get(peerIdentityKey);
            if (peer === null) throw this.refuse("a caller without a certificate");
            if (request.clusterId !== this.options.clusterId) {
              throw this.refuse(`${peer} of cluster "${request.clusterId}"`);
            }
            const messages = request.messages.map((proto) => {
              const message = decodeMessage(proto);
              if (message.from !== peer || message.to !== this.id) {
                throw this.refuse(`${peer} sending as ${message.from} to ${message.to}`);
              }
              return message;
            });
            for (const message of messages) this.receive?.(message);
            return {};
          },
          fetchSeed: async function* (this: void, request, context) {
            const peer = context.values.get(peerIdentityKey);
            if (peer === null) throw transport.refuse("a seed request without a certificate");
            if (request.clusterId !== transport.options.clusterId) {
              throw transport.refuse(
                `a seed request from ${peer} of cluster "${request.clusterId}"`,
              );
            }
            const handler = transport.seedHandler;
            if (handler === null) {
              throw new ConnectError(`${transport.id} serves no seed`, Code.Unavailable);
            }
            for await (const chunk of handler(peer)) {
              yield { entries: chunk.map(([key, value]) => ({ key, value })) };
            }
          },
          join: async (request, context) => {
            const peer = context.values.get(peerIdentityKey);
            if (peer === null) throw this.refuse("a join without a certificate");
            if (request.clusterId !== this.options.clusterId) {
              throw this.refuse(`a join from ${peer} of cluster "${request.clusterId}"`);
            }
            if (!/^[^\s/]+:\d{1,5}$/.test(request.address)) {
              throw new ConnectError(`${request.address} is not host:port`, Code.InvalidArgument);
            }
            const handler = this.joinHandler;
            if (handler === null)
              throw new ConnectError(`${this.id} takes no joins`, Code.Unavailable);
            try {
              return { voter: await handler(peer, request.address) };
            } catch (error) {
              throw error instanceof ConnectError
                ? error
                : new ConnectError(
                    error instanceof Error ? error.message : String(error),
                    Code.Unavailable,
                  );
            }
          },
          propose: async (request, context) => {
            const peer = context.values.get(peerIdentityKey);
            if (peer === null) throw this.refuse("a proposal without a certificate");
            if (request.clusterId !== this.options.clusterId) {
              throw this.refuse(`a proposal from ${peer} of cluster "${request.clusterId}"`);
            }
            if (request.command.byteLength > PROPOSE_BYTES_MAX) {
              throw new ConnectError(
                `a proposal of ${request.command.byteLength} bytes; at most ${PROPOSE_BYTES_MAX}`,
                Code.ResourceExhausted,
              );
            }
            const handler = this.proposalHandler;
            if (handler === null) {
              throw new ConnectError(`${this.id} takes no proposals`, Code.Unavailable);
            }
            try {
              return { index: BigInt(await handler(peer, request.command)) };
            } catch (error) {
              throw error instanceof ConnectError
                ? error
                : new ConnectError(
                    error instanceof Error ? error.message : String(error),
                    Code.Unavailable,
                  );
            }
          },
        }),
    });
    const server = http2.createSecureServer(
      {
        ca: this.options.tls.ca,
        cert: this.options.tls.certificate,
        key: this.options.tls.key,
        requestCert: true,
        rejectUnauthorized: true,
        minVersion: "TLSv1.3",
      },
      handler,
    );
    server.on("session", (session) => {
      this.sessions.add(session);
      session.on("close", () => this.sessions.delete(session));
    });
    server.on("tlsClientError", (error) => this.note(`TLS handshake refused: ${error.message}`));
    server.on("sessionError", (error) => this.note(`session failed: ${error.message}`));
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(this.options.listenPort, this.options.listenHost, () => {
        server.off("error", reject);
        resolve();
      });
    });
    this.server = server;
  }

  /** Serves Propose calls from members with `handler` (until then they are UNAVAILABLE). */
  serveProposals(handler: ProposalHandler): void {
    this.proposalHandler = handler;
  }

  /**
   * Sends one command to `peer` (the leader) to append; resolves with its log index once the
   * leader applied it. Rejects with the ConnectError the peer answered or the call failed with.
   */
  async propose(peer: NodeId, command: Uint8Array, timeoutMs: number): Promise<number> {
    const link = this.peers.get(peer);
    if (link === undefined) {
      throw new RaftRunnerError("WITNZ_RAFT_TRANSPORT", `${peer} is not a known peer`);
    }
    const request = create(ProposeRequestSchema, { clusterId: this.options.clusterId, command });
    const response = await this.clientFor(peer, link).propose(request, { timeoutMs });
    return Number(response.index);
  }

  /** Serves Join calls from members with `handler` (until then they are UNAVAILABLE). */
  serveJoin(handler: JoinHandler): void {
    this.joinHandler = handler;
  }

  /** Announces this node at `address` to `peer`; resolves whether it is a voter there. */
  async join(peer: NodeId, address: string): Promise<boolean> {
    const link = this.peers.get(peer);
    if (link === undefined) {
      throw new RaftRunnerError("WITNZ_RAFT_TRANSPORT", `${peer} is not a known peer`);
    }
    const request = create(JoinRequestSchema, { clusterId: this.options.clusterId, address });
    const response = await this.clientFor(peer, link).join(request, { timeoutMs: JOIN_TIMEOUT_MS });
    return response.voter;
  }

  /** Serves FetchSeed calls from members with `handler` (until then they are UNAVAILABLE). */
  serveSeed(handler: SeedHandler): void {
    this.seedHandler = handler;
  }

  /** This node's seed from `peer`, as it streams in (works without `start`). */
  async *fetchSeed(peer: NodeId): SeedChunks {
    const link = this.peers.get(peer);
    if (link === undefined) {
      throw new RaftRunnerError("WITNZ_RAFT_TRANSPORT", `${peer} is not a known peer`);
    }
    const request = create(FetchSeedRequestSchema, { clusterId: this.options.clusterId });
    for await (const chunk of this.clientFor(peer, link).fetchSeed(request, {
      timeoutMs: FETCH_SEED_TIMEOUT_MS,
    })) {
      yield chunk.entries.map((entry) => [entry.key, entry.value] as const);
    }
  }

  /** The address the server listens on, `host:port`. */
  address(): string {
    const info = this.server?.address() as AddressInfo | null | undefined;
    if (info === null || info === undefined)
      throw new RaftRunnerError("WITNZ_RAFT_TRANSPORT", "not listening");
    return `${this.options.listenHost}:${info.port}`;
  }

  setPeer(id: NodeId, address: string): void {
    const link = this.peers.get(id);
    if (link === undefined) {
      this.peers.set(id, {
        address,
        queue: [],
        sessionManager: null,
        client: null,
        draining: null,
      });
      return;
    }
    if (link.address === address) return;
    link.address = address;
    link.sessionManager?.abort();
    link.sessionManager = null;
    link.client = null;
  }

  peerAddress(id: NodeId): string | undefined {
    return this.peers.get(id)?.address;
  }

  send(message: Message): void {
    if (this.closed) return;
    const link = this.peers.get(message.to);
    if (link === undefined || link.queue.length >= PEER_QUEUE_MESSAGES_MAX) return;
    link.queue.push(message);
    if (link.draining === null) {
      link.draining = this.drain(message.to, link).finally(() => {
        link.draining = null;
      });
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const link of this.peers.values()) {
      link.queue.length = 0;
      link.sessionManager?.abort();
    }
    await Promise.all([...this.peers.values()].map((link) => link.draining));
    // Not GOAWAY with NO_ERROR: the client session manager of the current ConnectRPC release
    // can raise that as an uncaught exception in the peer (connect-es issue 1768). An error is
    // needed for the code to be used: `destroy(undefined, code)` defaults the error to NO_ERROR
    // and sends that. The error reaches the server's "sessionError" event, not an exception.
    for (const session of this.sessions) {
      session.destroy(new Error("the transport closed"), http2.constants.NGHTTP2_CANCEL);
    }
    const server = this.server;
    if (server !== null) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private async drain(peer: NodeId, link: PeerLink): Promise<void> {
    while (!this.closed && link.queue.length > 0) {
      const batch = link.queue.splice(0, SEND_BATCH_MESSAGES_MAX);
      try {
        const request = create(SendRequestSchema, {
          clusterId: this.options.clusterId,
          messages: batch.map(encodeMessage),
        });
        await this.clientFor(peer, link).send(request, { timeoutMs: SEND_TIMEOUT_MS });
      } catch (error) {
        // Lost messages are Raft's ordinary weather: it retries. Pause, then go on.
        this.note(
          `send to ${peer} failed: ${error instanceof Error ? error.message : String(error)}`,
        );
        if (!this.closed) await new Promise((resolve) => setTimeout(resolve, SEND_RETRY_DELAY_MS));
      }
    }
  }

  private clientFor(peer: NodeId, link: PeerLink): Client<typeof RaftService> {
    if (link.client !== null) return link.client;
    const baseUrl = `https://${link.address}`;
    const sessionManager = new Http2SessionManager(
      baseUrl,
      // Raft traffic never idles (heartbeats every few ticks), and an idle close races with the
      // server's GOAWAY in connect-node: the session is destroyed with an error after its error
      // listener is gone, which crashes the process (connect-es issue 1768). Never idle-close.
      { idleConnectionTimeoutMs: CONNECTION_IDLE_TIMEOUT_MS },
      {
        ca: this.options.tls.ca,
        cert: this.options.tls.certificate,
        key: this.options.tls.key,
        minVersion: "TLSv1.3",
        // The peer must hold a CA-signed certificate for its address, issued to its node id.
        checkServerIdentity: (host: string, certificate: PeerCertificate) =>
          checkServerIdentity(host, certificate) ??
          (certificate.subject?.CN === peer
            ? undefined
            : new Error(
                `the certificate at ${link.address} is for "${certificate.subject?.CN}", not "${peer}"`,
              )),
      },
    );
    link.sessionManager = sessionManager;
    link.client = createClient(
      RaftService,
      createConnectTransport({
        baseUrl,
        httpVersion: "2",
        sessionManager,
        useBinaryFormat: true,
        readMaxBytes: SEND_BYTES_MAX,
        writeMaxBytes: SEND_BYTES_MAX,
      }),
    );
    return link.client;
  }

  private refuse(what: string): ConnectError {
    const message = `refused ${what}`;
    this.note(message);
    return new ConnectError(message, Code.PermissionDenied);
  }

  private note(refusal: string): void {
    this.refusals.push(refusal);
    if (this.refusals.length > 100) this.refusals.shift();
  }
}

function commonName(socket: TLSSocket): string | null {
  if (typeof socket.getPeerCertificate !== "function" || !socket.authorized) return null;
  const name = socket.getPeerCertificate().subject?.CN;
  return typeof name === "string" && name.length > 0 ? name : null;
}

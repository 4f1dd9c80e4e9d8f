// The ConnectRPC transport over real mutual TLS on 127.0.0.1, with real LMDB, default timings.
import { readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { create } from "@bufbuild/protobuf";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { createDevelopmentCertificates } from "../../src/certs/index.js";
import { RaftService, SendRequestSchema } from "../../src/gen/raft_pb.js";
import { freePort } from "../../src/local/index.js";
import {
  ConnectRaftTransport,
  decodeMessage,
  encodeMessage,
  LmdbRaftStorage,
  type Message,
  PROPOSE_BYTES_MAX,
  RaftRunner,
  toNodeId,
} from "../../src/raft/index.js";
import {
  eventually,
  leaderOf,
  RecordingStateMachine,
  temporaryDirectory,
} from "./runner-harness.js";

const CLUSTER = "mtls-cluster";
let certificates: string;
let strangers: string;
const directories: string[] = [];

beforeAll(async () => {
  certificates = temporaryDirectory("witnz-transport-certs-");
  strangers = temporaryDirectory("witnz-transport-strangers-");
  directories.push(certificates, strangers);
  await createDevelopmentCertificates({
    outDirectory: join(certificates, "out"),
    nodes: ["a", "b", "c"],
  });
  await createDevelopmentCertificates({ outDirectory: join(strangers, "out"), nodes: ["a"] });
});
afterAll(() => {
  for (const directory of directories) rmSync(directory, { recursive: true, force: true });
});

const tlsOf = (root: string, node: string) => ({
  ca: readFileSync(join(root, "out", "ca.crt")),
  certificate: readFileSync(join(root, "out", `${node}.crt`)),
  key: readFileSync(join(root, "out", `${node}.key`)),
});

test("message codec round-trips every message type", () => {
  const header = { from: toNodeId("a"), to: toNodeId("b"), term: 7 } as const;
  const messages = [
    { ...header, type: "pre-vote", lastLogIndex: 9, lastLogTerm: 6, leadershipTransfer: false },
    { ...header, type: "vote", lastLogIndex: 9, lastLogTerm: 6, leadershipTransfer: true },
    { ...header, type: "vote-response", granted: true },
    { ...header, type: "pre-vote-response", granted: false },
    {
      ...header,
      type: "append",
      prevLogIndex: 3,
      prevLogTerm: 2,
      leaderCommit: 3,
      entries: [{ index: 4, term: 7, type: "conf-change", data: Uint8Array.of(1, 2) }],
    },
    {
      ...header,
      type: "append-response",
      success: false,
      matchIndex: 0,
      rejectedIndex: 4,
      hintIndex: 2,
      hintTerm: 1,
    },
    { ...header, type: "heartbeat", leaderCommit: 3, readSequence: 5 },
    { ...header, type: "heartbeat-response", readSequence: 5 },
    {
      ...header,
      type: "snapshot",
      snapshot: {
        metadata: { index: 10, term: 7, confState: { voters: ["a", "b"], learners: ["c"] } },
        data: Uint8Array.of(5),
      },
    },
    { ...header, type: "timeout-now" },
  ] as unknown as Message[];
  for (const message of messages) expect(decodeMessage(encodeMessage(message))).toEqual(message);
});

describe("3 nodes over mutual TLS", () => {
  const runners: RaftRunner[] = [];
  const transports: ConnectRaftTransport[] = [];
  let ports: Record<string, number>;

  beforeAll(async () => {
    ports = { a: await freePort(), b: await freePort(), c: await freePort() };
    for (const id of ["a", "b", "c"]) {
      const directory = temporaryDirectory(`witnz-transport-${id}-`);
      directories.push(directory);
      const transport = new ConnectRaftTransport({
        id,
        clusterId: CLUSTER,
        listenHost: "127.0.0.1",
        listenPort: ports[id]!,
        tls: tlsOf(certificates, id),
      });
      transports.push(transport);
      const peers = Object.fromEntries(
        ["a", "b", "c"]
          .filter((peer) => peer !== id)
          .map((peer) => [peer, `127.0.0.1:${ports[peer]}`]),
      );
      runners.push(
        await RaftRunner.start({
          id,
          clusterId: CLUSTER,
          storage: LmdbRaftStorage.open(directory),
          transport,
          stateMachine: new RecordingStateMachine(),
          peers,
          bootstrap: id === "a",
        }),
      );
    }
  });
  afterAll(async () => {
    for (const runner of runners) await runner.shutdown();
  });

  // The failover time is measured by the real-process tests and bench/raft; here only that a new
  // leader is elected within a few election timeouts, whatever else the machine is doing.
  test("elect, replicate, and after the leader stops a new leader takes over", async () => {
    const leader = await eventually(() => leaderOf(runners), 10_000, "a leader");
    for (let i = 0; i < 20; i++)
      await leader.apply(new TextEncoder().encode(`e${i}`), { timeoutMs: 5000 });
    await leader.barrier();
    for (const runner of runners) {
      await eventually(
        () => runner.stats().appliedIndex === leader.stats().appliedIndex,
        5000,
        "replication",
      );
    }
    await leader.shutdown();
    const rest = runners.filter((runner) => runner !== leader);
    const newLeader = await eventually(() => leaderOf(rest), 5000, "a new leader");
    await newLeader.apply(new TextEncoder().encode("after"), { timeoutMs: 5000 });
  });

  test("a peer without a valid certificate is refused", async () => {
    const port = ports.b!;
    const request = create(SendRequestSchema, { clusterId: CLUSTER, messages: [] });
    const call = (nodeOptions: Record<string, unknown>) =>
      createClient(
        RaftService,
        createConnectTransport({
          baseUrl: `https://127.0.0.1:${port}`,
          httpVersion: "2",
          nodeOptions,
        }),
      ).send(request, { timeoutMs: 3000 });
    const ca = tlsOf(certificates, "a").ca;
    // No client certificate at all.
    await expect(call({ ca })).rejects.toThrow();
    // A certificate from another CA, with a node's name.
    const stranger = tlsOf(strangers, "a");
    await expect(call({ ca, cert: stranger.certificate, key: stranger.key })).rejects.toThrow();
    // A valid member that claims to be someone else is refused by identity.
    const member = tlsOf(certificates, "c");
    const forged = create(SendRequestSchema, {
      clusterId: CLUSTER,
      messages: [
        encodeMessage({
          from: toNodeId("a"),
          to: toNodeId("b"),
          term: 99,
          type: "timeout-now",
        } as Message),
      ],
    });
    const client = createClient(
      RaftService,
      createConnectTransport({
        baseUrl: `https://127.0.0.1:${port}`,
        httpVersion: "2",
        nodeOptions: { ca, cert: member.certificate, key: member.key },
      }),
    );
    await expect(client.send(forged, { timeoutMs: 3000 })).rejects.toThrow(
      /refused c sending as a/,
    );
    // The same member speaking for itself is accepted.
    await client.send(request, { timeoutMs: 3000 });
  });
});

describe("Propose over mutual TLS", () => {
  const opened: ConnectRaftTransport[] = [];
  afterAll(async () => {
    for (const transport of opened) await transport.close();
  });

  async function pair(clusterOfCaller = CLUSTER) {
    const ports = { a: await freePort(), b: await freePort() };
    const make = (id: "a" | "b", clusterId: string) => {
      const transport = new ConnectRaftTransport({
        id,
        clusterId,
        listenHost: "127.0.0.1",
        listenPort: ports[id],
        tls: tlsOf(certificates, id),
      });
      opened.push(transport);
      return transport;
    };
    const a = make("a", clusterOfCaller);
    const b = make("b", CLUSTER);
    await a.start(() => undefined);
    await b.start(() => undefined);
    a.setPeer(toNodeId("b"), `127.0.0.1:${ports.b}`);
    return { a, b };
  }

  test("the handler sees the caller's certificate name and the bytes; its index comes back", async () => {
    const { a, b } = await pair();
    await expect(a.propose(toNodeId("b"), Uint8Array.of(1), 3000)).rejects.toThrow(
      /b takes no proposals/,
    );
    const seen: [string, number[]][] = [];
    b.serveProposals(async (peer, command) => {
      seen.push([peer, [...command]]);
      return 42;
    });
    expect(await a.propose(toNodeId("b"), Uint8Array.of(7, 8, 9), 3000)).toBe(42);
    expect(seen).toEqual([["a", [7, 8, 9]]]);
  });

  test("the handler's ConnectError reaches the caller with its code; other errors as UNAVAILABLE", async () => {
    const { a, b } = await pair();
    b.serveProposals(async (_peer, command) => {
      if (command[0] === 1) throw new ConnectError("not yours", Code.PermissionDenied);
      throw new Error("no leader is known");
    });
    await expect(a.propose(toNodeId("b"), Uint8Array.of(1), 3000)).rejects.toMatchObject({
      code: Code.PermissionDenied,
      rawMessage: "not yours",
    });
    await expect(a.propose(toNodeId("b"), Uint8Array.of(2), 3000)).rejects.toMatchObject({
      code: Code.Unavailable,
      rawMessage: "no leader is known",
    });
  });

  test("a proposal for another cluster, an oversized one, or to an unknown peer is refused", async () => {
    const { a, b } = await pair("other-cluster");
    b.serveProposals(async () => 1);
    await expect(a.propose(toNodeId("b"), Uint8Array.of(1), 3000)).rejects.toMatchObject({
      code: Code.PermissionDenied,
    });
    expect(b.refusals.at(-1)).toMatch(/a proposal from a of cluster "other-cluster"/);
    const { a: a2, b: b2 } = await pair();
    b2.serveProposals(async () => 1);
    await expect(
      a2.propose(toNodeId("b"), new Uint8Array(PROPOSE_BYTES_MAX + 1), 3000),
    ).rejects.toMatchObject({ code: Code.ResourceExhausted });
    await expect(a2.propose(toNodeId("c"), Uint8Array.of(1), 3000)).rejects.toThrow(
      /c is not a known peer/,
    );
  });
});

// The ConnectRPC transport over real mutual TLS on 127.0.0.1, with real LMDB, default timings.
import { readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { create } from "@bufbuild/protobuf";
import { createClient } from "@connectrpc/connect";
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

  test("elect, replicate, and after the leader stops a new leader within 2 s", async () => {
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
    const stoppedAt = Date.now();
    await leader.shutdown();
    const rest = runners.filter((runner) => runner !== leader);
    const newLeader = await eventually(() => leaderOf(rest), 5000, "a new leader");
    const elapsedMs = Date.now() - stoppedAt;
    expect(elapsedMs).toBeLessThan(2000);
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

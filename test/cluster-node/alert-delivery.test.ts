// The leader's delivery of replicated incidents: only the leader sends, each sink once per
// incident while it leads, a failing sink is retried, and the acknowledgement settles it
// everywhere; a new leader delivers what is still pending.
import { afterEach, describe, expect, test } from "vitest";
import { AlertError, type AlertSink } from "../../src/alerts/index.js";
import { commandSpeaker, LeaderAlertDelivery } from "../../src/cluster-node/index.js";
import { until } from "../support/until.js";
import { type FakeMember, fakeCluster } from "./fake-cluster.js";

const deliveries: LeaderAlertDelivery[] = [];
afterEach(async () => {
  for (const delivery of deliveries.splice(0)) await delivery.stop();
});

/** A sink that records what it was given and fails while `failing` is set. */
function recordingSink(name: string) {
  const sink = {
    name,
    received: [] as string[],
    failing: false,
    async deliver(alert: { id: string }) {
      if (sink.failing) throw new AlertError("WITNZ_ALERT_UNREACHABLE", `${name} is down`);
      sink.received.push(alert.id);
    },
  };
  return sink satisfies AlertSink;
}

function deliveryFor(member: FakeMember, leader: () => string, sinks: AlertSink[]) {
  const delivery = new LeaderAlertDelivery({
    sinks,
    machine: member.node.machine,
    isLeader: () => leader() === member.id,
    acknowledge: async (id) => {
      await member.node.acknowledgeAlert(id);
      return true;
    },
    retryPolicy: { retryDelayMsInitial: 20, retryDelayMsMax: 40 },
  });
  deliveries.push(delivery);
  return delivery;
}

const alert = (id: string, node = "b") => ({
  id,
  kind: "append_only_violation",
  severity: "critical" as const,
  node,
  table: "public.audit_log",
  detectedAt: "2026-11-23T12:00:00.000Z",
  message: "UPDATE on append-only table public.audit_log",
});

describe("LeaderAlertDelivery", () => {
  test("only the leader delivers; a failed sink is retried; the ack settles it everywhere", async () => {
    const { raft, members } = await fakeCluster(["a", "b"]);
    for (const member of members) member.node.start(raft.handle(member.id));
    try {
      for (const member of members) await member.node.runPass();
      const [a, b] = members as [FakeMember, FakeMember];
      const webhookOfA = recordingSink("webhook");
      const slackOfA = recordingSink("slack");
      const webhookOfB = recordingSink("webhook");
      slackOfA.failing = true;
      const fromA = deliveryFor(a, () => raft.leaderId, [webhookOfA, slackOfA]);
      const fromB = deliveryFor(b, () => raft.leaderId, [webhookOfB]);
      fromA.start();
      fromB.start();
      await b.node.raiseAlert(alert("i-1"));
      fromA.wake();
      await until(() => webhookOfA.received.length === 1, "the webhook delivery");
      await new Promise((resolve) => setTimeout(resolve, 100));
      // The webhook got it once although the Slack sink kept failing; nothing is acknowledged.
      expect(webhookOfA.received).toEqual(["i-1"]);
      expect(b.node.machine.pendingIncidents()).toHaveLength(1);
      slackOfA.failing = false;
      await until(() => b.node.machine.pendingIncidents().length === 0, "the acknowledgement");
      expect(slackOfA.received).toEqual(["i-1"]);
      expect(webhookOfB.received).toEqual([]);

      // Another incident while a leads and its sinks are down; leadership moves to b, which
      // delivers it from the replicated state.
      webhookOfA.failing = true;
      slackOfA.failing = true;
      await a.node.raiseAlert(alert("i-2", "a"));
      raft.leaderId = "b";
      fromB.wake();
      await until(() => webhookOfB.received.includes("i-2"), "delivery by the new leader");
      await until(() => a.node.machine.pendingIncidents().length === 0, "the acknowledgement");
      expect(webhookOfB.received).toEqual(["i-2"]);
    } finally {
      for (const member of members) await member.node.stop();
    }
  });
});

describe("commandSpeaker", () => {
  test("a member speaks for itself; targets and removals are the leader's own", () => {
    expect(commandSpeaker({ type: "progress", node: "a", table: "t", size: 1 })).toBe("a");
    expect(commandSpeaker({ type: "alert_raised", alert: alert("x") })).toBe("b");
    expect(
      commandSpeaker({ type: "alert_ack", incidentId: "x", by: "c", timeMicroseconds: 1 }),
    ).toBe("c");
    expect(commandSpeaker({ type: "attestation_target", table: "t", size: 1 })).toBeUndefined();
    expect(commandSpeaker({ type: "node_removed", node: "a" })).toBeUndefined();
  });
});

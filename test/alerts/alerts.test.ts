import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, test } from "vitest";
import {
  type Alert,
  type AlertDeliveryEvent,
  AlertDispatcher,
  type AlertSink,
  createAlertSinks,
  createSlackSink,
  createWebhookSink,
  RETRY_POLICY_DEFAULT,
  retryDelayMs,
  SIGNATURE_HEADER,
  signWebhookBody,
  slackText,
  verifyWebhookSignature,
  webhookBodyText,
} from "../../src/alerts/index.js";
import { openStore, type WitnzStore } from "../../src/store/index.js";
import { Receiver } from "./receiver.js";

const DETECTED_AT = "2024-05-01T12:00:00.000Z";
const DETECTED_MS = Date.parse(DETECTED_AT);
const SECRET = "s3cret";

function violationAlert(id = "public.orders/update/0/16B43D28/42"): Alert {
  return {
    id,
    kind: "append_only_violation",
    severity: "critical",
    node: "node-1",
    table: "public.orders",
    op: "UPDATE",
    pk: ["42"],
    lsn: "0/16B43D28",
    detectedAt: DETECTED_AT,
    message: "UPDATE on append-only table public.orders",
  };
}

/** A clock the test moves by hand. */
function manualClock(startMs: number): { now: () => number; advance: (ms: number) => void } {
  let nowMs = startMs;
  return {
    now: () => nowMs,
    advance: (ms) => {
      nowMs += ms;
    },
  };
}

/** A seeded generator (mulberry32) so that jitter replays from its seed. */
function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let mixed = state;
    mixed = Math.imul(mixed ^ (mixed >>> 15), mixed | 1);
    mixed ^= mixed + Math.imul(mixed ^ (mixed >>> 7), mixed | 61);
    return ((mixed ^ (mixed >>> 14)) >>> 0) / 2 ** 32;
  };
}

let directory: string;
let store: WitnzStore;
let receiver: Receiver;
const cleanups: Array<() => Promise<void>> = [];

beforeEach(async () => {
  directory = await mkdtemp(join(tmpdir(), "witnz-alerts-"));
  store = await openStore(directory);
  receiver = new Receiver();
  await receiver.listen(0);
});

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  await receiver.close();
  await store.close();
  await rm(directory, { recursive: true, force: true });
});

async function enqueue(...alerts: Alert[]): Promise<boolean[]> {
  const batch = store.batch();
  const added = alerts.map((alert) => batch.enqueueAlert(alert));
  await store.commit(batch);
  return added;
}

describe("retry delay", () => {
  test("doubles from the initial delay, is capped, and is jittered into the upper half", () => {
    const policy = { retryDelayMsInitial: 100, retryDelayMsMax: 1_000 };
    expect([1, 2, 3, 4, 5, 60].map((attempts) => retryDelayMs(policy, attempts, () => 0))).toEqual([
      50, 100, 200, 400, 500, 500,
    ]);
    expect(retryDelayMs(policy, 1, () => 0.999_999)).toBe(100);
    expect(retryDelayMs(policy, 60, () => 0.5)).toBe(750);
    const random = seededRandom(7);
    for (let attempts = 1; attempts < 80; attempts++) {
      const delay = retryDelayMs(RETRY_POLICY_DEFAULT, attempts, random);
      expect(delay).toBeGreaterThanOrEqual(1);
      expect(delay).toBeLessThanOrEqual(RETRY_POLICY_DEFAULT.retryDelayMsMax);
    }
  });
});

describe("webhook signature", () => {
  test("matches the documented test vector, and a receiver verifies it", () => {
    const body = webhookBodyText(violationAlert());
    expect(body).toBe(
      '{"id":"public.orders/update/0/16B43D28/42","kind":"append_only_violation","severity":"critical","node":"node-1","table":"public.orders","op":"UPDATE","pk":["42"],"lsn":"0/16B43D28","detectedAt":"2024-05-01T12:00:00.000Z","message":"UPDATE on append-only table public.orders"}',
    );
    const header = "sha256=c957d7042ffaefd7b05089547d785552925ffc8be538af0e9bf45487a6e34924";
    expect(signWebhookBody(SECRET, body)).toBe(header);
    expect(verifyWebhookSignature(SECRET, body, header)).toBe(true);
    expect(verifyWebhookSignature("other", body, header)).toBe(false);
    expect(verifyWebhookSignature(SECRET, `${body} `, header)).toBe(false);
    expect(verifyWebhookSignature(SECRET, body, undefined)).toBe(false);
  });
});

describe("sinks", () => {
  test("the webhook POSTs every body field, signed over the raw body", async () => {
    const sink = createWebhookSink({ url: receiver.url, secret: SECRET, clock: () => DETECTED_MS });
    const alert: Alert = {
      id: "t/gap/1",
      kind: "replication_gap",
      severity: "warning",
      node: "node-2",
      detectedAt: DETECTED_AT,
      message: "slot was recreated",
    };
    await sink.deliver(alert);
    const [request] = receiver.requests;
    expect(request!.method).toBe("POST");
    expect(request!.headers["content-type"]).toBe("application/json");
    expect(request!.headers["x-witnz-timestamp"]).toBe(String(DETECTED_MS / 1000));
    const signature = request!.headers[SIGNATURE_HEADER.toLowerCase()] as string;
    expect(verifyWebhookSignature(SECRET, request!.body, signature)).toBe(true);
    expect(JSON.parse(request!.body.toString("utf8"))).toEqual({
      id: "t/gap/1",
      kind: "replication_gap",
      severity: "warning",
      node: "node-2",
      table: null,
      op: null,
      pk: null,
      lsn: null,
      detectedAt: DETECTED_AT,
      message: "slot was recreated",
    });
  });

  test("without a secret there is no signature header", async () => {
    await createWebhookSink({ url: receiver.url }).deliver(violationAlert());
    expect(receiver.requests[0]!.headers["x-witnz-signature"]).toBeUndefined();
  });

  test("Slack gets one readable line as {text}, with its control characters escaped", async () => {
    await createSlackSink({ url: receiver.url }).deliver({
      ...violationAlert(),
      pk: ["42", null],
      message: "UPDATE <set amount>\n& more",
    });
    const body = JSON.parse(receiver.requests[0]!.body.toString("utf8"));
    expect(Object.keys(body)).toEqual(["text"]);
    expect(body.text).toBe(
      "[CRITICAL] append_only_violation on public.orders: UPDATE pk=(42, NULL) at LSN 0/16B43D28, node node-1: UPDATE &lt;set amount&gt; &amp; more (incident public.orders/update/0/16B43D28/42)",
    );
    expect(slackText(violationAlert())).not.toContain("\n");
  });

  test("a non-2xx answer, a silent receiver and a closed port fail with their codes", async () => {
    const sink = createWebhookSink({ url: receiver.url, requestTimeoutMs: 150 });
    receiver.answer = { status: 503 };
    await expect(sink.deliver(violationAlert())).rejects.toMatchObject({
      code: "WITNZ_ALERT_REJECTED",
      message: "sink webhook answered HTTP 503: refused",
    });
    receiver.answer = "hang";
    const startedAtMs = performance.now();
    await expect(sink.deliver(violationAlert())).rejects.toMatchObject({
      code: "WITNZ_ALERT_TIMEOUT",
      message: "sink webhook did not answer within 150 ms",
    });
    expect(performance.now() - startedAtMs).toBeLessThan(2_000);
    await receiver.close();
    const error = await sink.deliver(violationAlert()).catch((caught: unknown) => caught);
    expect(error).toMatchObject({ code: "WITNZ_ALERT_UNREACHABLE" });
    expect((error as Error).message).not.toContain("127.0.0.1");
  });

  test("sinks come from the alerts config, none when disabled", () => {
    const config = {
      enabled: true,
      slackWebhook: "https://hooks.slack.example/services/T/B/X",
      webhook: { url: "https://alerts.example/witnz", secret: "x" },
    };
    expect(createAlertSinks(config).map((sink) => sink.name)).toEqual(["webhook", "slack"]);
    expect(createAlertSinks({ ...config, enabled: false })).toEqual([]);
    expect(
      createAlertSinks({ enabled: true, slackWebhook: undefined, webhook: undefined }),
    ).toEqual([]);
  });
});

describe("dispatcher", () => {
  test("delivers a pending alert once, records it durably, and settles it", async () => {
    const clock = manualClock(DETECTED_MS + 10);
    const events: AlertDeliveryEvent[] = [];
    const dispatcher = new AlertDispatcher({
      store,
      sinks: [createWebhookSink({ url: receiver.url, secret: SECRET })],
      clock: clock.now,
      onDelivery: (event) => events.push(event),
    });
    await enqueue(violationAlert());
    expect(await dispatcher.deliverDue()).toEqual({
      attempts: 1,
      delivered: 1,
      failed: 0,
      settled: 1,
    });
    const request = receiver.requests[0]!;
    expect(
      verifyWebhookSignature(SECRET, request.body, request.headers["x-witnz-signature"] as string),
    ).toBe(true);
    expect(store.alert(violationAlert().id)).toMatchObject({
      settledAtMs: DETECTED_MS + 10,
      sinks: { webhook: { attempts: 1, deliveredAtMs: DETECTED_MS + 10 } },
    });
    expect(events.map((event) => [event.sinkName, event.outcome.status])).toEqual([
      ["webhook", "delivered"],
    ]);
    clock.advance(3_600_000);
    expect((await dispatcher.deliverDue()).attempts).toBe(0);
    expect(receiver.requests).toHaveLength(1);
  });

  test("an alert enqueued twice is delivered once", async () => {
    const dispatcher = new AlertDispatcher({
      store,
      sinks: [createWebhookSink({ url: receiver.url })],
      clock: () => DETECTED_MS,
    });
    expect(await enqueue(violationAlert(), violationAlert())).toEqual([true, false]);
    await dispatcher.deliverDue();
    expect(await enqueue(violationAlert())).toEqual([false]);
    await dispatcher.deliverDue();
    expect(receiver.requests).toHaveLength(1);
  });

  test("receiver down then up: retried with backoff, nothing lost, once per sink across a restart", async () => {
    const clock = manualClock(DETECTED_MS);
    const random = seededRandom(42);
    const policy = { retryDelayMsInitial: 1_000, retryDelayMsMax: 8_000 };
    const second = new Receiver();
    await second.listen(0);
    cleanups.push(() => second.close());
    const makeDispatcher = (target: WitnzStore) =>
      new AlertDispatcher({
        store: target,
        sinks: [
          createWebhookSink({ url: receiver.url, secret: SECRET }),
          createSlackSink({ url: second.url }),
        ],
        clock: clock.now,
        random,
        retryPolicy: policy,
      });
    const ids = ["incident-a", "incident-b", "incident-c"];
    await enqueue(...ids.map((id) => violationAlert(id)));
    await receiver.close(); // the webhook receiver is down; Slack is up

    let dispatcher = makeDispatcher(store);
    for (let attempt = 1; attempt <= 4; attempt++) {
      const result = await dispatcher.deliverDue();
      expect(result.failed).toBe(3);
      expect(result.delivered).toBe(attempt === 1 ? 3 : 0);
      const state = store.alert("incident-a")!.sinks.webhook!;
      expect(state.attempts).toBe(attempt);
      expect(state.lastError).toMatch(/^sink webhook is unreachable: ECONNREFUSED/);
      const delay = state.nextAttemptAtMs! - state.lastAttemptAtMs!;
      const capped = Math.min(8_000, 1_000 * 2 ** (attempt - 1));
      expect(delay).toBeGreaterThanOrEqual(capped / 2);
      expect(delay).toBeLessThanOrEqual(capped);
      // Each alert drew its own jitter: nothing is attempted before the earliest is due.
      const nextAttempts = ids.map((id) => store.alert(id)!.sinks.webhook!.nextAttemptAtMs!);
      clock.advance(Math.min(...nextAttempts) - 1 - clock.now());
      expect((await dispatcher.deliverDue()).attempts).toBe(0);
      clock.advance(Math.max(...nextAttempts) - clock.now());
    }
    expect(second.requests).toHaveLength(3);
    expect(store.pendingAlerts(Number.MAX_SAFE_INTEGER, 10)).toHaveLength(3);

    // The node restarts: the same LMDB directory, a new dispatcher.
    await store.close();
    store = await openStore(directory);
    dispatcher = makeDispatcher(store);
    await receiver.listen(); // the same port, up again
    const result = await dispatcher.deliverDue();
    expect(result).toEqual({ attempts: 3, delivered: 3, failed: 0, settled: 3 });
    // In order of their due times, which their jitter decided.
    expect(
      receiver.requests.map((request) => JSON.parse(request.body.toString()).id).sort(),
    ).toEqual(ids);
    expect(second.requests).toHaveLength(3);

    // And again: nothing is sent twice.
    await store.close();
    store = await openStore(directory);
    clock.advance(24 * 3_600_000);
    expect((await makeDispatcher(store).deliverDue()).attempts).toBe(0);
    expect(receiver.requests).toHaveLength(3);
    expect(second.requests).toHaveLength(3);
    expect(store.pendingAlerts(Number.MAX_SAFE_INTEGER, 10)).toEqual([]);
  });

  test("a sink that times out is recorded as failed and retried later", async () => {
    const clock = manualClock(DETECTED_MS);
    receiver.answer = "hang";
    const dispatcher = new AlertDispatcher({
      store,
      sinks: [createWebhookSink({ url: receiver.url, requestTimeoutMs: 100 })],
      clock: clock.now,
      random: () => 0,
    });
    await enqueue(violationAlert());
    expect(await dispatcher.deliverDue()).toMatchObject({ attempts: 1, failed: 1 });
    expect(store.alert(violationAlert().id)!.sinks.webhook).toMatchObject({
      attempts: 1,
      lastError: "sink webhook did not answer within 100 ms",
      nextAttemptAtMs: DETECTED_MS + RETRY_POLICY_DEFAULT.retryDelayMsInitial / 2,
    });
    receiver.answer = { status: 204 };
    clock.advance(RETRY_POLICY_DEFAULT.retryDelayMsInitial / 2);
    expect(await dispatcher.deliverDue()).toMatchObject({ delivered: 1, settled: 1 });
  });

  test("a sink that throws anything is a failed attempt, never a lost alert", async () => {
    let calls = 0;
    const flaky: AlertSink = {
      name: "flaky",
      async deliver() {
        calls++;
        if (calls === 1) throw new TypeError("boom");
      },
    };
    const clock = manualClock(DETECTED_MS);
    const dispatcher = new AlertDispatcher({ store, sinks: [flaky], clock: clock.now });
    await enqueue(violationAlert());
    expect(await dispatcher.deliverDue()).toMatchObject({ failed: 1 });
    expect(store.alert(violationAlert().id)!.sinks.flaky!.lastError).toBe(
      "sink flaky failed: TypeError: boom",
    );
    clock.advance(RETRY_POLICY_DEFAULT.retryDelayMsMax);
    expect(await dispatcher.deliverDue()).toMatchObject({ delivered: 1, settled: 1 });
  });

  test("with no sinks, alerts wait in the outbox", async () => {
    const dispatcher = new AlertDispatcher({ store, sinks: [], clock: () => DETECTED_MS });
    await enqueue(violationAlert());
    expect((await dispatcher.deliverDue()).attempts).toBe(0);
    expect(store.pendingAlerts(DETECTED_MS, 10)).toHaveLength(1);
  });

  test("the loop delivers promptly after wake() and stop() drains", async () => {
    const dispatcher = new AlertDispatcher({
      store,
      sinks: [createWebhookSink({ url: receiver.url, secret: SECRET })],
      idlePollMs: 60_000,
    });
    dispatcher.start();
    cleanups.push(() => dispatcher.stop());
    const latenciesMs: number[] = [];
    for (let index = 0; index < 20; index++) {
      const committedAtMs = performance.now();
      await enqueue({ ...violationAlert(`live-${index}`), detectedAt: new Date().toISOString() });
      dispatcher.wake();
      await receiver.received(index + 1);
      latenciesMs.push(receiver.requests[index]!.receivedAtMs - committedAtMs);
    }
    expect(Math.max(...latenciesMs)).toBeLessThan(250);
    await dispatcher.stop();
    await dispatcher.stop();
    // Every alert was recorded as delivered before stop() returned.
    expect(store.pendingAlerts(Number.MAX_SAFE_INTEGER, 100)).toEqual([]);
  });

  test("the loop retries a failing sink on its own, without a wake", async () => {
    receiver.answer = { status: 500 };
    const dispatcher = new AlertDispatcher({
      store,
      sinks: [createWebhookSink({ url: receiver.url })],
      retryPolicy: { retryDelayMsInitial: 20, retryDelayMsMax: 40 },
    });
    await enqueue({ ...violationAlert(), detectedAt: new Date().toISOString() });
    dispatcher.start();
    cleanups.push(() => dispatcher.stop());
    await receiver.received(2);
    receiver.answer = { status: 200 };
    await receiver.received(3);
    await dispatcher.stop();
    const state = store.alert(violationAlert().id)!;
    expect(state.settledAtMs).toBeDefined();
    expect(state.sinks.webhook!.attempts).toBe(3);
    expect(receiver.requests).toHaveLength(3);
  });
});

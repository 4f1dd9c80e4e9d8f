// The demo's scripted story, one function per numbered step. Each step says what it does, does
// it against the real processes, and records what was detected (or missed) for the summary.
import type { ClusterStatus } from "../cluster-node/index.js";
import { type LocalNodeProcess, localLeader } from "../local/index.js";
import { formatVerificationText, verifyNode } from "../verify/index.js";
import type { QuickVerifyReport } from "../witness/index.js";
import type { ReceivedAlert } from "./alerts.js";
import { DemoStack } from "./stack.js";
import { sleep, waitFor, waitForOrThrow } from "./wait.js";
import { TABLES, type Writer } from "./writer.js";

/** One expected detection and whether it happened. */
export interface Detection {
  readonly ok: boolean;
  readonly text: string;
}

export interface DemoContext {
  readonly stack: DemoStack;
  readonly writer: Writer;
  readonly say: (line: string) => void;
  readonly signal: AbortSignal;
  readonly detections: Detection[];
}

/** How long one detection may take before it counts as missed. */
const DETECTION_TIMEOUT_MS = 30_000;
const PROGRESS_EVERY_MS = 5_000;

const indent = (lines: readonly string[], prefix = "     ") => lines.map((line) => prefix + line);
const pkText = (pk: readonly (string | null)[] | null) => JSON.stringify(pk ?? []);

function receiver(context: DemoContext) {
  return context.stack.receiver!;
}

function record(context: DemoContext, ok: boolean, text: string, missed = text): void {
  context.detections.push({ ok, text: ok ? text : missed });
}

function tableOf(view: ClusterStatus | undefined, table: string) {
  return view?.tables.find((entry) => entry.table === table);
}

/** `public.audit_log 24, public.payments 24`: each table's agreed size in `view`. */
function agreedSizes(view: ClusterStatus): string {
  return TABLES.map((table) => `${table} ${tableOf(view, table)?.agreedSize ?? 0}`).join(", ");
}

/** The first running node's view of the cluster, once every table is agreed at `minimum`. */
function agreedView(
  context: DemoContext,
  minimum: (table: string) => number,
  timeoutMs = DETECTION_TIMEOUT_MS,
): Promise<ClusterStatus | undefined> {
  return waitFor(
    async () => {
      const node = context.stack.nodes.find((candidate) => candidate.running);
      const view = await node?.cluster();
      const agreed = TABLES.every(
        (table) => (tableOf(view, table)?.agreedSize ?? 0) >= minimum(table),
      );
      return view !== undefined && agreed ? view : undefined;
    },
    timeoutMs,
    context.signal,
  );
}

function clusterLines(view: ClusterStatus): string[] {
  const lines = [
    `GET /cluster on ${view.node}: leader ${view.leader ?? "none"}, term ${view.term}, ` +
      `nodes ${view.nodes.map((node) => node.node).join(", ")}, disagreements ${view.disagreements}`,
  ];
  for (const table of TABLES) {
    const entry = tableOf(view, table);
    if (entry === undefined) continue;
    const attested = entry.nodes.map((node) => `${node.node} ${node.attestedSize}`).join(", ");
    lines.push(`  ${table}: agreed size ${entry.agreedSize} (attested: ${attested})`);
  }
  return lines;
}

/** `witnz verify --quick` until `accept` holds, or the last answer after the timeout. */
async function askWitnesses(
  context: DemoContext,
  accept: (report: QuickVerifyReport) => boolean,
): Promise<{ report: QuickVerifyReport | undefined; accepted: boolean }> {
  let last: QuickVerifyReport | undefined;
  const accepted = await waitFor(
    async () => {
      last = await context.stack.quickVerify().catch(() => last);
      return last !== undefined && accept(last) ? last : undefined;
    },
    DETECTION_TIMEOUT_MS,
    context.signal,
    500,
  );
  return { report: accepted ?? last, accepted: accepted !== undefined };
}

const everyTableClean = (report: QuickVerifyReport) =>
  report.exitCode === 0 &&
  TABLES.every((table) =>
    report.tables.some((entry) => entry.table === table && entry.verdict === "clean"),
  );

/** Step 1 (and the last step of --no-tamper): the nodes agree, the witnesses vote unanimous. */
export async function steadyState(context: DemoContext, heading: string, final = false) {
  const { say, writer } = context;
  say("");
  say(heading);
  const minimum = (table: string) => (final ? writer.inserted.get(table)! : 5);
  const view = await agreedView(context, minimum);
  if (view !== undefined) for (const line of indent(clusterLines(view), "   ")) say(line);
  else say("   the nodes did not agree in time");
  say("   witnz verify --quick (every witness's vote on the nodes' signed checkpoints):");
  const { report, accepted } = await askWitnesses(context, everyTableClean);
  if (report !== undefined) for (const line of indent(DemoStack.formatQuick(report))) say(line);
  const agreed = view !== undefined && view.disagreements === 0;
  record(
    context,
    agreed && accepted,
    `steady state: the 3 nodes agree (${view === undefined ? "" : agreedSizes(view)}) and the 3 witnesses vote unanimous`,
    `steady state: ${agreed ? "" : "the nodes did not agree; "}${accepted ? "" : "the witnesses did not vote unanimous"}`,
  );
}

/** Waits for one append-only alert; records whether exactly one arrived for the change. */
async function expectViolation(context: DemoContext, op: string, table: string, id: string) {
  const matches = (alert: ReceivedAlert) =>
    alert.kind === "append_only_violation" &&
    alert.op === op &&
    alert.table === table &&
    pkText(alert.pk) === pkText([id]);
  const alert = await waitFor(
    () => receiver(context).find(matches),
    DETECTION_TIMEOUT_MS,
    context.signal,
  );
  // Every node raised it; give a duplicate delivery time to show up before counting.
  if (alert !== undefined) await sleep(1000, context.signal);
  const count = receiver(context).filter(matches).length;
  return { alert, count };
}

/** Step 2: an UPDATE and a DELETE on append-only tables, each one alert delivered by the leader. */
export async function appendOnlyTampering(context: DemoContext): Promise<void> {
  const { say, stack } = context;
  say("");
  say("2. Tampering while every node watches: UPDATE and DELETE on append-only tables");
  say("   every node decodes the change from its own slot and raises it; the cluster keeps one");
  say(
    "   incident and only the leader delivers it (each alert names the node that raised it first)",
  );
  const client = stack.client!;
  for (const [op, table, sql, id] of [
    ["UPDATE", "public.payments", "UPDATE public.payments SET amount = 0 WHERE id = 3", "3"],
    ["DELETE", "public.audit_log", "DELETE FROM public.audit_log WHERE id = 2", "2"],
  ] as const) {
    say(`   $ ${sql}`);
    await client.query(sql);
    const { alert, count } = await expectViolation(context, op, table, id);
    record(
      context,
      alert !== undefined && count === 1,
      `${op} on ${table} (pk ${pkText([id])}) alerted once: every node saw it, the leader delivered one alert`,
      alert === undefined
        ? `${op} on ${table} (pk ${pkText([id])}) was not alerted`
        : `${op} on ${table} alerted ${count} times instead of once`,
    );
  }
}

/**
 * Step 3: a follower is stopped, its replication slot dropped and a row changed meanwhile. The
 * running nodes alert the UPDATE; the follower, restarted, records the replication gap, alerts
 * it, verifies every table and pinpoints the rows.
 */
export async function offlineTampering(context: DemoContext): Promise<void> {
  const { say, stack, writer, signal } = context;
  say("");
  say("3. Offline tampering: a node is down, its replication slot is dropped, a row is changed");
  // Rows inserted while the slot is gone never reach that node (they are its gap; `witnz restore`
  // would rebuild it from a peer), so the writer pauses until the node streams again.
  say("   the writer pauses while the node is away (rows committed while its slot is gone never");
  say("   reach it); every node first catches up");
  await writer.pause();
  await agreedView(context, (table) => writer.inserted.get(table)!);
  const leader = await waitForOrThrow(() => localLeader(stack.nodes), "a leader", 30_000, signal);
  const follower = [...stack.nodes].reverse().find((node) => node !== leader)!;
  say(`   stopping ${follower.id} (a follower; ${leader.id} leads)`);
  await follower.stop("SIGTERM");
  const slot = `witnz_${follower.id}`;
  say(`   $ SELECT pg_drop_replication_slot('${slot}')`);
  // The slot stays active for a moment after its node disconnects.
  await waitForOrThrow(
    () =>
      stack.client!.query("SELECT pg_drop_replication_slot($1)", [slot]).then(
        () => true,
        () => false,
      ),
    `the slot ${slot} to be dropped`,
    30_000,
    signal,
  );
  const sql = "UPDATE public.audit_log SET actor = 'mallory' WHERE id = 5";
  say(`   $ ${sql}`);
  await stack.client!.query(sql);
  const { alert } = await expectViolation(context, "UPDATE", "public.audit_log", "5");
  record(
    context,
    alert !== undefined,
    `offline UPDATE on public.audit_log (pk ["5"]) alerted by the running nodes while ${follower.id} was down`,
    `the UPDATE on public.audit_log while ${follower.id} was down was not alerted`,
  );

  say(
    `   restarting ${follower.id}: it finds its slot gone, records a replication gap and verifies`,
  );
  follower.start({ faults: true });
  await stack.waitReady(follower, signal);
  const fromFollower = (kind: string) => (candidate: ReceivedAlert) =>
    candidate.kind === kind && candidate.node === follower.id;
  const gap = await waitFor(
    () => receiver(context).find(fromFollower("replication_gap")),
    DETECTION_TIMEOUT_MS,
    signal,
  );
  record(
    context,
    gap !== undefined,
    `replication gap: ${follower.id} recorded it and alerted replication_gap`,
    `replication gap: no replication_gap alert from ${follower.id}`,
  );
  // Its verification finds every table tampered (step 2 changed both): one alert per table.
  const failedFor = (table: string) =>
    receiver(context).find(
      (candidate) => fromFollower("verification_failed")(candidate) && candidate.table === table,
    );
  await waitFor(() => TABLES.every(failedFor), DETECTION_TIMEOUT_MS, signal);
  await pinpoint(context, follower, failedFor("public.audit_log") !== undefined);
  writer.resume();
  say("   the writer resumes");
}

/** Prints the follower's verification (`witnz verify --config <its file>`) and records it. */
async function pinpoint(context: DemoContext, node: LocalNodeProcess, alerted: boolean) {
  const { say, stack } = context;
  say(`   ${node.id}'s verification against PostgreSQL (witnz verify --config ${node.id}.yaml):`);
  const result = await verifyNode(stack.config(node));
  for (const line of indent(formatVerificationText(result).trimEnd().split("\n"))) say(line);
  const auditLog = result.tables.find((table) => table.table === "public.audit_log");
  const found = auditLog?.modified.some((pk) => pkText(pk) === pkText(["5"])) === true;
  const rows = result.tables
    .filter((table) => !table.ok)
    .map((table) =>
      [
        table.table,
        ...(["modified", "deleted", "phantom"] as const)
          .filter((kind) => table[kind].length > 0)
          .map((kind) => `${kind} ${table[kind].map((pk) => pkText(pk)).join(" ")}`),
      ].join(" "),
    )
    .join("; ");
  record(
    context,
    found && alerted,
    `pinpointed rows: ${node.id}'s verification after the gap found ${rows}`,
    `pinpointed rows: ${found ? "" : 'public.audit_log ["5"] not found modified; '}${alerted ? "" : `no verification_failed alert from ${node.id}`}`,
  );
}

/** Between the steps: the writer keeps writing until `until`; what the nodes agree on. */
export async function keepWriting(context: DemoContext, until: number): Promise<void> {
  const { say, stack, writer, signal } = context;
  if (Date.now() >= until) return;
  say("");
  say(
    `   the writer keeps going for ${Math.round((until - Date.now()) / 1000)}s; what the nodes agree on:`,
  );
  while (Date.now() < until) {
    await sleep(Math.min(PROGRESS_EVERY_MS, until - Date.now()), signal);
    const view = await stack.nodes[0]!.cluster();
    if (view !== undefined) {
      const written = [...writer.inserted.values()].join(" + ");
      say(`   rows written ${written}; agreed by every node: ${agreedSizes(view)}`);
    }
  }
}

/**
 * Step 4: the leader's fault switch makes it observe every new row altered. Every witness names
 * it the minority (tampering_detected) and the cluster records a node_disagreement naming it.
 */
export async function lyingLeader(context: DemoContext): Promise<void> {
  const { say, stack, signal } = context;
  say("");
  say("4. A lying leader: the leader is made to observe every new row altered");
  const leader = await waitForOrThrow(() => localLeader(stack.nodes), "a leader", 30_000, signal);
  say(
    `   ${leader.id} leads; turning its fault switch on (test-only: WITNZ_TEST_FAULTS=1 and a file`,
  );
  say("   in its data directory); the writer's next rows reach its checkpoints altered");
  await leader.alterObservations(true);
  const witnessIds = stack.witnesses.map((witness) => witness.id);
  // Each witness names the leader for each table the writer's altered rows reached.
  const naming = (witness: string, table: string) => (alert: ReceivedAlert) =>
    alert.kind === "tampering_detected" &&
    alert.node === witness &&
    alert.table === table &&
    alert.message.includes(`minority nodes [${leader.id}]`);
  const namedBy = (witness: string) =>
    TABLES.every((table) => receiver(context).find(naming(witness, table)) !== undefined);
  const disagreementNaming = (table: string) => (alert: ReceivedAlert) =>
    alert.kind === "node_disagreement" &&
    alert.table === table &&
    alert.message.includes(`odd node(s) out: ${leader.id}`);
  const clusterNamed = () =>
    TABLES.every((table) => receiver(context).find(disagreementNaming(table)) !== undefined);
  await waitFor(() => witnessIds.every(namedBy) && clusterNamed(), DETECTION_TIMEOUT_MS, signal);
  const named = witnessIds.filter(namedBy);
  say("   witnz verify --quick (the witnesses' answers):");
  const { report } = await askWitnesses(
    context,
    (answer) =>
      answer.exitCode === 1 &&
      TABLES.every((table) =>
        answer.tables.some((entry) => entry.table === table && entry.verdict === "tampering"),
      ),
  );
  if (report !== undefined) for (const line of indent(DemoStack.formatQuick(report))) say(line);
  record(
    context,
    named.length === witnessIds.length,
    `lying leader ${leader.id} named the minority by every witness (${named.join(", ")}: tampering_detected)`,
    `lying leader ${leader.id} named by ${named.length} of ${witnessIds.length} witnesses only`,
  );
  record(
    context,
    clusterNamed(),
    `lying leader ${leader.id} named by the cluster: node_disagreement, odd node out ${leader.id}`,
    `lying leader ${leader.id}: no node_disagreement naming it`,
  );
}

/** --no-tamper: nothing was tampered with, so nothing may be alerted. */
export function expectNoAlerts(context: DemoContext): void {
  const count = receiver(context).alerts.length;
  record(
    context,
    count === 0,
    "no alerts: nothing was tampered with",
    `${count} alerts although nothing was tampered with (${receiver(context).countsByKind()})`,
  );
}

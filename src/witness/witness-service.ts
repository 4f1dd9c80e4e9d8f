// The witness's state machine around its pure core: admits submissions, stores them durably in
// LMDB before it answers, holds each vote once every expected node reported or the collection
// timed out, cosigns the majority checkpoint when it is proved consistent with the last one it
// cosigned, and puts an alert in the durable outbox for every verdict that is not unanimous.
// Every change runs on one serial queue, so no two submissions or votes interleave; a query's
// nonce, which no submission or vote reads, is written outside it.
import { cosignCheckpoint, type NoteSigner } from "../checkpoint/index.js";
import type {
  KeyValueStore,
  OutboxAlert,
  StoredAlert,
  WitnzStore,
  WriteOperation,
} from "../store/index.js";
import {
  type AdmittedObservation,
  admitSubmission,
  type CosignedAnchor,
  checkQuery,
  decideCosign,
  decideVote,
  type LinkedObservation,
  type NodeRegistry,
  type NodeSequenceState,
  type NodeValue,
  type QueryFields,
  type Rejection,
  type SubmissionRequest,
  type VerdictOutcome,
  voteDue,
} from "./core/index.js";
import { QueryNonces } from "./query-nonces.js";
import {
  collectionKey,
  collectionPrefix,
  cosignedAtKey,
  cosignedKey,
  decodeCollectionKey,
  decodeJson,
  encodeJson,
  latestVerdictKey,
  latestVerdictPrefix,
  nodeStateKey,
  prefixEnd,
  submissionKey,
  submissionPrefix,
  verdictKey,
  verdictPrefix,
} from "./witness-keys.js";

export type ObservationStatus = "accepted" | "duplicate" | "conflict" | "late";

export interface ObservationResult {
  readonly table: string;
  readonly size: number;
  readonly status: ObservationStatus;
}

export interface SubmitResult {
  readonly ok: true;
  readonly results: readonly ObservationResult[];
  readonly sequence: number;
}

/** A decided vote, as stored and served. Hashes are base64. */
export interface Verdict {
  readonly customer: string;
  readonly table: string;
  readonly size: number;
  readonly outcome: VerdictOutcome;
  readonly majority?: { readonly rootHash: string; readonly chainHash: string };
  readonly majorityNodes: readonly string[];
  readonly minority: readonly { node: string; rootHash: string; chainHash: string }[];
  readonly missing: readonly string[];
  readonly decidedAtMs: number;
  readonly cosigned: boolean;
  /** Why the majority checkpoint was not cosigned; absent when it was or there is none. */
  readonly cosignRefusal?: string;
}

export interface CosignedCheckpoint {
  readonly size: number;
  readonly rootHash: string;
  readonly note: string;
}

/** What the service reports to its edge (metrics, logs); every hook must not throw. */
export interface WitnessServiceHooks {
  readonly onRejected?: (code: Rejection["code"], request: SubmissionRequest) => void;
  readonly onObservation?: (status: ObservationStatus) => void;
  readonly onVerdict?: (verdict: Verdict, latencyMs: number) => void;
  readonly onCosignRefused?: (verdict: Verdict, inconsistent: boolean) => void;
  /** Alerts were committed to the outbox: wake the dispatcher. */
  readonly onAlerts?: (alerts: readonly OutboxAlert[]) => void;
}

export interface WitnessServiceOptions {
  readonly witnessId: string;
  /** The LMDB key-value store the witness's records live in. */
  readonly keyValueStore: KeyValueStore;
  /** The typed store on the same key-value store: its alert outbox is used. */
  readonly outbox: WitnzStore;
  readonly registry: NodeRegistry;
  readonly cosigner: NoteSigner;
  readonly collectionTimeoutMs: number;
  /** Wall-clock milliseconds since the Unix epoch. */
  readonly clock: () => number;
  readonly hooks?: WitnessServiceHooks;
}

interface StoredSubmission {
  readonly node: string;
  readonly checkpoint: string;
  readonly rootHash: string;
  readonly chainHash: string;
  readonly lsn: string;
  readonly timeMicroseconds: string;
  readonly consistencyFromSize: number;
  readonly consistencyProof: readonly string[];
  readonly dataHash: string;
  readonly receivedAtMs: number;
}

interface OpenCollection {
  readonly customer: string;
  readonly table: string;
  readonly size: number;
  readonly firstSeenMs: number;
}

const b64 = (bytes: Uint8Array): string => Buffer.from(bytes).toString("base64");
const unb64 = (text: string): Uint8Array => Buffer.from(text, "base64");
const collectionId = (customer: string, table: string, size: number): string =>
  JSON.stringify([customer, table, size]);

export class WitnessService {
  readonly #options: WitnessServiceOptions;
  readonly #kv: KeyValueStore;
  readonly #hooks: WitnessServiceHooks;
  /** Open collections by collectionId, rebuilt from the store on start. */
  readonly #open = new Map<string, OpenCollection>();
  /** When each (customer, node) last had a submission admitted, since this process started. */
  readonly #lastSubmissionMs = new Map<string, number>();
  readonly #queryNonces: QueryNonces;
  #queue: Promise<unknown> = Promise.resolve();

  constructor(options: WitnessServiceOptions) {
    this.#options = options;
    this.#kv = options.keyValueStore;
    this.#hooks = options.hooks ?? {};
    this.#queryNonces = new QueryNonces(this.#kv);
    const prefix = collectionPrefix();
    for (const [key, value] of this.#kv.range({ start: prefix, end: prefixEnd(prefix) })) {
      const { customer, table, size } = decodeCollectionKey(key);
      const { firstSeenMs } = decodeJson<{ firstSeenMs: number }>(value);
      this.#open.set(collectionId(customer, table, size), { customer, table, size, firstSeenMs });
    }
  }

  get witnessId(): string {
    return this.#options.witnessId;
  }

  /** Collections waiting for their vote. */
  get openCollections(): number {
    return this.#open.size;
  }

  /** Runs `work` after every change queued before it. */
  #serial<T>(work: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(work, work);
    this.#queue = run.catch(() => undefined);
    return run;
  }

  /** Admits, stores durably, and votes where every expected node has now reported. */
  submit(request: SubmissionRequest): Promise<SubmitResult | Rejection> {
    return this.#serial(async () => {
      const customer = request.customerId;
      const stateValue = this.#kv.get(nodeStateKey(customer, request.nodeId));
      const state =
        stateValue === undefined ? undefined : decodeJson<NodeSequenceState>(stateValue);
      const admission = admitSubmission(this.#options.registry, request, state);
      if (!admission.ok) {
        this.#hooks.onRejected?.(admission.code, request);
        return admission;
      }
      const now = this.#options.clock();
      const operations: WriteOperation[] = [];
      const results: ObservationResult[] = [];
      const staged = new Map<string, string>();
      const touched = new Set<string>();
      const conflicts: AdmittedObservation[] = [];
      for (const observation of admission.observations) {
        const key = submissionKey(customer, observation.table, observation.size, request.nodeId);
        const keyId = Buffer.from(key).toString("latin1");
        const existing =
          staged.get(keyId) ??
          (() => {
            const value = this.#kv.get(key);
            return value === undefined ? undefined : decodeJson<StoredSubmission>(value).checkpoint;
          })();
        const id = collectionId(customer, observation.table, observation.size);
        let status: ObservationStatus;
        if (existing !== undefined) {
          status = existing === observation.checkpoint ? "duplicate" : "conflict";
          if (status === "conflict") conflicts.push(observation);
        } else {
          const decided =
            !this.#open.has(id) &&
            !touched.has(id) &&
            this.#kv.get(verdictKey(customer, observation.table, observation.size)) !== undefined;
          status = decided ? "late" : "accepted";
          const stored: StoredSubmission = {
            node: request.nodeId,
            checkpoint: observation.checkpoint,
            rootHash: b64(observation.rootHash),
            chainHash: b64(observation.chainHash),
            lsn: observation.lsn,
            timeMicroseconds: observation.timeMicroseconds.toString(),
            consistencyFromSize: observation.consistencyFromSize,
            consistencyProof: observation.consistencyProof.map(b64),
            dataHash: b64(observation.dataHash),
            receivedAtMs: now,
          };
          operations.push({ type: "put", key, value: encodeJson(stored) });
          staged.set(keyId, observation.checkpoint);
          if (!decided && !this.#open.has(id) && !touched.has(id)) {
            operations.push({
              type: "put",
              key: collectionKey(customer, observation.table, observation.size),
              value: encodeJson({ firstSeenMs: now }),
            });
          }
          if (!decided) touched.add(id);
        }
        results.push({ table: observation.table, size: observation.size, status });
      }
      operations.push({
        type: "put",
        key: nodeStateKey(customer, request.nodeId),
        value: encodeJson(admission.nextState),
      });
      if (conflicts.length > 0) await this.#enqueueConflictAlerts(request, conflicts, now);
      await this.#kv.write(operations);
      this.#lastSubmissionMs.set(JSON.stringify([customer, request.nodeId]), now);
      for (const result of results) this.#hooks.onObservation?.(result.status);
      for (const observation of admission.observations) {
        const id = collectionId(customer, observation.table, observation.size);
        if (touched.has(id) && !this.#open.has(id)) {
          this.#open.set(id, {
            customer,
            table: observation.table,
            size: observation.size,
            firstSeenMs: now,
          });
        }
      }
      for (const id of touched) {
        const collection = this.#open.get(id);
        if (collection !== undefined) await this.#voteIfDue(collection, now);
      }
      return { ok: true, results, sequence: admission.nextState.lastSequence };
    });
  }

  /** Holds every vote whose collection timed out by now. Returns the verdicts decided. */
  runDueVotes(): Promise<Verdict[]> {
    return this.#serial(async () => {
      const now = this.#options.clock();
      const verdicts: Verdict[] = [];
      for (const collection of [...this.#open.values()]) {
        const verdict = await this.#voteIfDue(collection, now);
        if (verdict !== undefined) verdicts.push(verdict);
      }
      return verdicts;
    });
  }

  /** Milliseconds until the earliest open collection times out; undefined when none is open. */
  nextDeadlineMs(): number | undefined {
    let earliest: number | undefined;
    for (const collection of this.#open.values()) {
      const deadline = collection.firstSeenMs + this.#options.collectionTimeoutMs;
      if (earliest === undefined || deadline < earliest) earliest = deadline;
    }
    return earliest;
  }

  verdict(customer: string, table: string, size?: number): Verdict | undefined {
    let at = size;
    if (at === undefined || at === 0) {
      const latest = this.#kv.get(latestVerdictKey(customer, table));
      if (latest === undefined) return undefined;
      at = decodeJson<{ size: number }>(latest).size;
    }
    const value = this.#kv.get(verdictKey(customer, table, at));
    return value === undefined ? undefined : decodeJson<Verdict>(value);
  }

  /** Tables of a customer that have a verdict, with the latest verdict and cosigned checkpoint. */
  latest(customer: string): { table: string; verdict: Verdict; cosigned?: CosignedCheckpoint }[] {
    const prefix = latestVerdictPrefix(customer);
    const tables: { table: string; verdict: Verdict; cosigned?: CosignedCheckpoint }[] = [];
    for (const [, value] of this.#kv.range({ start: prefix, end: prefixEnd(prefix) })) {
      const { table, size } = decodeJson<{ table: string; size: number }>(value);
      const verdict = this.verdict(customer, table, size);
      if (verdict === undefined) continue;
      const cosigned = this.cosigned(customer, table);
      tables.push({ table, verdict, ...(cosigned === undefined ? {} : { cosigned }) });
    }
    return tables;
  }

  /**
   * Undefined when the query may be answered: a node of its customer signed it for this witness,
   * recently, and has not asked it before. Its nonce is durable before it is answered.
   */
  async authorizeQuery(
    fields: QueryFields | undefined,
    signature: Uint8Array,
  ): Promise<Rejection | undefined> {
    const now = Math.floor(this.#options.clock() / 1000);
    const refusal = checkQuery(this.#options.registry, this.witnessId, fields, signature, now);
    if (refusal !== undefined) return refusal;
    const { customerId, nodeId, nonce, timeUnixSeconds } = fields!;
    return this.#queryNonces.admit(customerId, nodeId, nonce, timeUnixSeconds, now);
  }

  /** The latest `limit` verdicts of one table, newest (largest size) first. */
  recentVerdicts(customer: string, table: string, limit: number): Verdict[] {
    const prefix = verdictPrefix(customer, table);
    return [...this.#kv.range({ start: prefix, end: prefixEnd(prefix), reverse: true, limit })].map(
      ([, value]) => decodeJson<Verdict>(value),
    );
  }

  /** The alerts a verdict put in the outbox, as stored (none for a unanimous, consistent one). */
  alertsOf(verdict: Verdict): StoredAlert[] {
    const alerts: StoredAlert[] = [];
    for (const kind of [verdict.outcome, "witness_inconsistency"]) {
      const stored = this.#options.outbox.alert(verdictAlertId(this.witnessId, kind, verdict));
      if (stored !== undefined) alerts.push(stored);
    }
    return alerts;
  }

  /** The verdict of the largest size below `size` of the table, if any. */
  #previousVerdict(customer: string, table: string, size: number): Verdict | undefined {
    const prefix = verdictPrefix(customer, table);
    for (const [, value] of this.#kv.range({
      start: prefix,
      end: verdictKey(customer, table, size),
      reverse: true,
      limit: 1,
    })) {
      return decodeJson<Verdict>(value);
    }
    return undefined;
  }

  /** When a submission of `node` was last admitted, in this process's lifetime. */
  lastSubmissionMs(customer: string, node: string): number | undefined {
    return this.#lastSubmissionMs.get(JSON.stringify([customer, node]));
  }

  cosigned(customer: string, table: string): CosignedCheckpoint | undefined {
    const value = this.#kv.get(cosignedKey(customer, table));
    return value === undefined ? undefined : decodeJson<CosignedCheckpoint>(value);
  }

  /** Waits for every queued change. */
  async idle(): Promise<void> {
    await this.#serial(async () => undefined);
  }

  async #voteIfDue(collection: OpenCollection, now: number): Promise<Verdict | undefined> {
    const { customer, table, size } = collection;
    const expected = [...(this.#options.registry.get(customer)?.keys() ?? [])];
    const submissions = this.#submissions(customer, table, size);
    const reported = new Set(submissions.map((submission) => submission.node));
    const deadline = collection.firstSeenMs + this.#options.collectionTimeoutMs;
    if (!voteDue(expected, reported, now, deadline)) return undefined;
    const reports: NodeValue[] = submissions.map((submission) => ({
      node: submission.node,
      rootHash: unb64(submission.rootHash),
      chainHash: unb64(submission.chainHash),
    }));
    const vote = decideVote(expected, reports);
    const operations: WriteOperation[] = [];
    let cosigned = false;
    let cosignRefusal: string | undefined;
    let inconsistent = false;
    if (vote.majority !== undefined && vote.outcome !== "no_majority") {
      const anchorValue = this.#kv.get(cosignedKey(customer, table));
      const anchorRecord =
        anchorValue === undefined ? undefined : decodeJson<CosignedCheckpoint>(anchorValue);
      const anchor: CosignedAnchor | undefined =
        anchorRecord === undefined
          ? undefined
          : { size: anchorRecord.size, rootHash: unb64(anchorRecord.rootHash) };
      const refusals: string[] = [];
      // The majority nodes in code-unit order: witnesses holding the same submissions cosign the
      // same node's note, so their cosignatures gather on one text.
      for (const node of vote.majorityNodes) {
        const target = submissions.find((submission) => submission.node === node)!;
        const decision = decideCosign(anchor, linked(size, target), (at) => {
          const value = this.#kv.get(submissionKey(customer, table, at, node));
          return value === undefined ? undefined : linked(at, decodeJson<StoredSubmission>(value));
        });
        if (decision.cosign) {
          const note = cosignCheckpoint(
            target.checkpoint,
            this.#options.cosigner,
            Math.floor(now / 1000),
          );
          const record: CosignedCheckpoint = { size, rootHash: target.rootHash, note };
          operations.push({
            type: "put",
            key: cosignedKey(customer, table),
            value: encodeJson(record),
          });
          operations.push({
            type: "put",
            key: cosignedAtKey(customer, table, size),
            value: encodeJson(record),
          });
          cosigned = true;
          break;
        }
        inconsistent ||= decision.inconsistent;
        refusals.push(`${node}: ${decision.reason}`);
      }
      if (!cosigned) cosignRefusal = refusals.join("; ");
    }
    const verdict: Verdict = {
      customer,
      table,
      size,
      outcome: vote.outcome,
      ...(vote.majority === undefined
        ? {}
        : {
            majority: {
              rootHash: b64(vote.majority.rootHash),
              chainHash: b64(vote.majority.chainHash),
            },
          }),
      majorityNodes: vote.majorityNodes,
      minority: vote.minority.map((value) => ({
        node: value.node,
        rootHash: b64(value.rootHash),
        chainHash: b64(value.chainHash),
      })),
      missing: vote.missing,
      decidedAtMs: now,
      cosigned,
      ...(cosignRefusal === undefined ? {} : { cosignRefusal }),
    };
    // Alerts are durable before the verdict: a crash in between re-decides the open collection,
    // and the outbox refuses the same incident id twice.
    const alerts = this.#alertsFor(verdict, inconsistent).filter(
      (alert) =>
        alert.kind === "witness_inconsistency" ||
        !sameEpisode(this.#previousVerdict(customer, table, size), verdict),
    );
    if (alerts.length > 0) {
      const batch = this.#options.outbox.batch();
      const enqueued = alerts.filter((alert) => batch.enqueueAlert(alert));
      await this.#options.outbox.commit(batch);
      if (enqueued.length > 0) this.#hooks.onAlerts?.(enqueued);
    }
    const latestValue = this.#kv.get(latestVerdictKey(customer, table));
    const latestSize =
      latestValue === undefined ? 0 : decodeJson<{ size: number }>(latestValue).size;
    operations.push({
      type: "put",
      key: verdictKey(customer, table, size),
      value: encodeJson(verdict),
    });
    if (size >= latestSize) {
      operations.push({
        type: "put",
        key: latestVerdictKey(customer, table),
        value: encodeJson({ table, size }),
      });
    }
    operations.push({ type: "delete", key: collectionKey(customer, table, size) });
    await this.#kv.write(operations);
    this.#open.delete(collectionId(customer, table, size));
    this.#hooks.onVerdict?.(verdict, now - collection.firstSeenMs);
    if (verdict.cosignRefusal !== undefined) this.#hooks.onCosignRefused?.(verdict, inconsistent);
    return verdict;
  }

  #submissions(customer: string, table: string, size: number): StoredSubmission[] {
    const prefix = submissionPrefix(customer, table, size);
    return [...this.#kv.range({ start: prefix, end: prefixEnd(prefix) })].map(([, value]) =>
      decodeJson<StoredSubmission>(value),
    );
  }

  #alertsFor(verdict: Verdict, inconsistent: boolean): OutboxAlert[] {
    const witness = this.#options.witnessId;
    const where = `customer ${verdict.customer}, table ${verdict.table}, seq ${verdict.size}`;
    const id = (kind: string) => verdictAlertId(witness, kind, verdict);
    const base = {
      node: witness,
      table: verdict.table,
      detectedAt: new Date(verdict.decidedAtMs).toISOString(),
    };
    const alerts: OutboxAlert[] = [];
    const values = (list: readonly { node: string; rootHash: string }[]) =>
      list.map((value) => `${value.node}=${value.rootHash}`).join(", ");
    if (verdict.outcome === "tampering_detected") {
      alerts.push({
        ...base,
        id: id("tampering_detected"),
        kind: "tampering_detected",
        severity: "critical",
        message: `TAMPERING DETECTED by Witnz Democracy: minority nodes [${verdict.minority.map((value) => value.node).join(", ")}] have a different hash for ${where}. Majority hash: ${verdict.majority!.rootHash} (nodes ${verdict.majorityNodes.join(", ")}); minority hashes: ${values(verdict.minority)}`,
      });
    } else if (verdict.outcome === "no_majority") {
      alerts.push({
        ...base,
        id: id("no_majority"),
        kind: "no_majority",
        severity: "critical",
        message: `CRITICAL: no majority consensus for ${where}; hashes: ${values(verdict.minority)}; missing: [${verdict.missing.join(", ")}]`,
      });
    } else if (verdict.outcome === "incomplete_submission") {
      alerts.push({
        ...base,
        id: id("incomplete_submission"),
        kind: "incomplete_submission",
        severity: "warning",
        message: `Incomplete hash submission for ${where}: missing nodes [${verdict.missing.join(", ")}]`,
      });
    }
    if (inconsistent) {
      alerts.push({
        ...base,
        id: id("witness_inconsistency"),
        kind: "witness_inconsistency",
        severity: "critical",
        message: `the majority checkpoint for ${where} is not consistent with the last checkpoint this witness cosigned; not cosigned: ${verdict.cosignRefusal ?? ""}`,
      });
    }
    return alerts;
  }

  async #enqueueConflictAlerts(
    request: SubmissionRequest,
    conflicts: readonly AdmittedObservation[],
    now: number,
  ): Promise<void> {
    const batch = this.#options.outbox.batch();
    const enqueued: OutboxAlert[] = [];
    for (const observation of conflicts) {
      const alert: OutboxAlert = {
        id: `witness/${this.#options.witnessId}/node_equivocation/${request.customerId}/${observation.table}/${observation.size}/${request.nodeId}`,
        kind: "node_equivocation",
        severity: "critical",
        node: this.#options.witnessId,
        table: observation.table,
        detectedAt: new Date(now).toISOString(),
        message: `node ${request.nodeId} of customer ${request.customerId} signed two different checkpoints for ${observation.table} at size ${observation.size}; the first is kept`,
      };
      if (batch.enqueueAlert(alert)) enqueued.push(alert);
    }
    await this.#options.outbox.commit(batch);
    if (enqueued.length > 0) this.#hooks.onAlerts?.(enqueued);
  }
}

/**
 * Whether `verdict` continues the episode `previous` (the table's verdict just below it) began:
 * the same outcome that is not unanimous, the same majority nodes, the minority nodes split the
 * same way by value, and the same nodes missing. Its alert was raised then; the later sizes are
 * recorded and served but raise no new alert.
 */
function sameEpisode(previous: Verdict | undefined, verdict: Verdict): boolean {
  const split = (minority: Verdict["minority"]) => {
    const groups = new Map<string, string[]>();
    for (const value of minority) {
      const key = `${value.rootHash} ${value.chainHash}`;
      groups.set(key, [...(groups.get(key) ?? []), value.node]);
    }
    return JSON.stringify(
      [...groups.values()].map((nodes) => nodes.sort()).sort((a, b) => (a[0]! < b[0]! ? -1 : 1)),
    );
  };
  return (
    previous !== undefined &&
    previous.outcome === verdict.outcome &&
    verdict.outcome !== "unanimous" &&
    previous.majorityNodes.join("\n") === verdict.majorityNodes.join("\n") &&
    split(previous.minority) === split(verdict.minority) &&
    previous.missing.join("\n") === verdict.missing.join("\n")
  );
}

/** The outbox id of the alert of `kind` a verdict raised. */
function verdictAlertId(witness: string, kind: string, verdict: Verdict): string {
  return `witness/${witness}/${kind}/${verdict.customer}/${verdict.table}/${verdict.size}`;
}

function linked(size: number, submission: StoredSubmission): LinkedObservation {
  return {
    size,
    rootHash: unb64(submission.rootHash),
    consistencyFromSize: submission.consistencyFromSize,
    consistencyProof: submission.consistencyProof.map(unb64),
  };
}

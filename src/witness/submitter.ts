// The node side: a raft node hands each observation (its signed checkpoint for a table and
// size) to `submit`, which makes it durable in the backlog of every configured witness, then
// returns. One loop per witness sends its backlog in order, in signed SubmitBatch messages,
// retrying with capped exponential backoff; a witness that is down for a while receives the
// backlog when it returns. Each attempt is signed anew with a new sequence number, so a retry is
// never a replay.
import { create } from "@bufbuild/protobuf";
import type { NoteSigner } from "../checkpoint/index.js";
import { ed25519Sign } from "../crypto/index.js";
import { SubmitBatchRequestSchema } from "../gen/witnz_pb.js";
import { connectWitness, type WitnessConnection, type WitnessEndpoint } from "./client.js";
import { fromProtoStatus } from "./convert.js";
import {
  type EnvelopeObservation,
  OBSERVATIONS_PER_REQUEST_MAX,
  submissionEnvelope,
  type WitnessRejectionCode,
} from "./core/index.js";
import { WitnessError, witnessAssert } from "./errors.js";
import { rejectionCodeOf } from "./rpc-errors.js";
import type { ObservationStatus } from "./witness-service.js";

/** What a node submits: its signed checkpoint, and its proof from its previous observation. */
export interface SubmitterObservation {
  /** The node's signed C2SP checkpoint note (signCheckpoint's result). */
  readonly checkpoint: string;
  /** The size of this node's previous observation of the table; 0 (the default) for none. */
  readonly consistencyFromSize?: number;
  /** `tree.consistencyProof(consistencyFromSize, size)`; empty for none. */
  readonly consistencyProof?: readonly Uint8Array[];
  /** The data hash of the table's entry at this size, if the node sends it. */
  readonly dataHash?: Uint8Array;
}

/** One observation owed to one witness. `entryId` orders a witness's backlog. */
export interface BacklogEntry {
  readonly witnessId: string;
  readonly entryId: number;
  readonly observation: SubmitterObservation;
}

/** Where the backlog lives across restarts; `openSubmitterBacklog` is the LMDB one. */
export interface SubmitterPersistence {
  load(): Promise<{ lastSequence: number; entries: BacklogEntry[] }>;
  /** Durable when it resolves. */
  append(entries: readonly BacklogEntry[]): Promise<void>;
  /** Drops delivered entries and records the sequence last used; durable when it resolves. */
  acknowledge(witnessId: string, entryIds: readonly number[], lastSequence: number): Promise<void>;
}

export interface RetryOptions {
  readonly initialDelayMs: number;
  readonly maxDelayMs: number;
}

export const SUBMITTER_RETRY_DEFAULT: RetryOptions = { initialDelayMs: 100, maxDelayMs: 30_000 };
/** Observations owed to one witness before `submit` refuses more for it. */
export const BACKLOG_ENTRIES_MAX_DEFAULT = 100_000;
/** Observations in one SubmitBatch. */
export const BATCH_OBSERVATIONS_MAX_DEFAULT = 256;
/** One SubmitBatch that takes longer is abandoned and retried. */
export const REQUEST_TIMEOUT_MS_DEFAULT = 10_000;
/** After SEQUENCE_BACKWARDS (the clock went back across a restart) the sequence jumps this far. */
const SEQUENCE_JUMP = 60_000_000;

export interface DeliveryEvent {
  readonly witnessId: string;
  readonly entries: number;
  readonly statuses: readonly ObservationStatus[];
}

export interface WitnessSubmitterOptions {
  /** The customer id the witnesses know this cluster by: the cluster id. */
  readonly customerId: string;
  readonly nodeId: string;
  /** The node's Ed25519 key, the one its checkpoints are signed with. */
  readonly signer: NoteSigner;
  readonly witnesses: readonly WitnessEndpoint[];
  readonly persistence: SubmitterPersistence;
  readonly backlogEntriesMax?: number;
  readonly batchObservationsMax?: number;
  readonly requestTimeoutMs?: number;
  readonly retry?: RetryOptions;
  /** Wall-clock milliseconds; `Date.now` unless injected. */
  readonly clock?: () => number;
  /** [0, 1) for the backoff jitter; `Math.random` unless injected. */
  readonly random?: () => number;
  readonly onDelivered?: (event: DeliveryEvent) => void;
  /** A failed attempt; `dropped` entries were refused for good and are no longer owed. */
  readonly onError?: (witnessId: string, error: WitnessError, dropped: number) => void;
}

/** Refusals that no retry can cure: the entry is dropped (after trying it alone). */
const PERMANENT: readonly WitnessRejectionCode[] = [
  "WITNZ_WITNESS_CHECKPOINT_INVALID",
  "WITNZ_WITNESS_MALFORMED",
  "WITNZ_WITNESS_TOO_LARGE",
];

interface WitnessLink {
  readonly endpoint: WitnessEndpoint;
  readonly queue: BacklogEntry[];
  connection: WitnessConnection | undefined;
  failures: number;
  wake: (() => void) | undefined;
  loop: Promise<void> | undefined;
  /** Send entries one at a time until a permanent refusal is isolated. */
  singly: boolean;
}

export class WitnessSubmitter {
  readonly #options: WitnessSubmitterOptions;
  readonly #links = new Map<string, WitnessLink>();
  readonly #clock: () => number;
  readonly #random: () => number;
  readonly #retry: RetryOptions;
  readonly #backlogMax: number;
  readonly #batchMax: number;
  #lastSequence = 0;
  #nextEntryId = 1;
  #state: "new" | "running" | "stopped" = "new";

  constructor(options: WitnessSubmitterOptions) {
    this.#options = options;
    this.#clock = options.clock ?? Date.now;
    this.#random = options.random ?? Math.random;
    this.#retry = options.retry ?? SUBMITTER_RETRY_DEFAULT;
    this.#backlogMax = options.backlogEntriesMax ?? BACKLOG_ENTRIES_MAX_DEFAULT;
    this.#batchMax = options.batchObservationsMax ?? BATCH_OBSERVATIONS_MAX_DEFAULT;
    witnessAssert(
      this.#batchMax >= 1 && this.#batchMax <= OBSERVATIONS_PER_REQUEST_MAX,
      () => `batchObservationsMax runs from 1 to ${OBSERVATIONS_PER_REQUEST_MAX}`,
    );
    witnessAssert(this.#backlogMax >= 1, () => "backlogEntriesMax must be at least 1");
    for (const endpoint of options.witnesses) {
      witnessAssert(!this.#links.has(endpoint.id), () => `witness ${endpoint.id} is listed twice`);
      this.#links.set(endpoint.id, {
        endpoint,
        queue: [],
        connection: undefined,
        failures: 0,
        wake: undefined,
        loop: undefined,
        singly: false,
      });
    }
  }

  /** Loads the backlog a previous run left and starts sending it. */
  async start(): Promise<void> {
    witnessAssert(this.#state === "new", () => "the submitter was already started");
    const { lastSequence, entries } = await this.#options.persistence.load();
    this.#lastSequence = lastSequence;
    for (const entry of [...entries].sort((a, b) => a.entryId - b.entryId)) {
      this.#nextEntryId = Math.max(this.#nextEntryId, entry.entryId + 1);
      // An entry for a witness no longer configured is not owed any more.
      this.#links.get(entry.witnessId)?.queue.push(entry);
    }
    this.#state = "running";
    for (const link of this.#links.values()) link.loop = this.#run(link);
  }

  /**
   * Owes `observation` to every witness: durable in the backlog when this resolves. Throws
   * WITNZ_WITNESS_BACKLOG_FULL naming the witnesses whose backlog is full; the observation is
   * then still owed to the others.
   */
  async submit(observation: SubmitterObservation): Promise<void> {
    if (this.#state === "stopped") {
      throw new WitnessError("WITNZ_WITNESS_STOPPED", "the witness submitter is stopped");
    }
    const full: string[] = [];
    const entries: BacklogEntry[] = [];
    for (const [witnessId, link] of this.#links) {
      if (link.queue.length >= this.#backlogMax) {
        full.push(witnessId);
        continue;
      }
      entries.push({ witnessId, entryId: this.#nextEntryId, observation });
    }
    this.#nextEntryId += 1;
    if (entries.length > 0) {
      await this.#options.persistence.append(entries);
      for (const entry of entries) {
        const link = this.#links.get(entry.witnessId)!;
        link.queue.push(entry);
        link.wake?.();
      }
    }
    if (full.length > 0) {
      throw new WitnessError(
        "WITNZ_WITNESS_BACKLOG_FULL",
        `the backlog for witness ${full.join(", ")} holds ${this.#backlogMax} observations (its limit); this observation is not owed to ${full.length === 1 ? "it" : "them"}${entries.length > 0 ? `, only to ${entries.map((entry) => entry.witnessId).join(", ")}` : ""}`,
      );
    }
  }

  /** Observations owed, by witness id. */
  backlog(): Record<string, number> {
    return Object.fromEntries([...this.#links].map(([id, link]) => [id, link.queue.length]));
  }

  /** Stops sending; what is owed stays in the backlog for the next start. */
  async stop(): Promise<void> {
    if (this.#state === "stopped") return;
    this.#state = "stopped";
    for (const link of this.#links.values()) {
      link.wake?.();
      link.connection?.close();
    }
    await Promise.all([...this.#links.values()].map((link) => link.loop));
  }

  #nextSequence(): number {
    this.#lastSequence = Math.max(this.#clock() * 1000, this.#lastSequence + 1);
    return this.#lastSequence;
  }

  async #run(link: WitnessLink): Promise<void> {
    while (this.#state === "running") {
      if (link.queue.length === 0) {
        await new Promise<void>((resolve) => {
          link.wake = resolve;
        });
        link.wake = undefined;
        continue;
      }
      const batch = link.queue.slice(0, link.singly ? 1 : this.#batchMax);
      const outcome = await this.#send(link, batch);
      if (this.#state !== "running") return;
      if (outcome === "retry") {
        link.failures += 1;
        await this.#sleep(link, this.#backoffMs(link.failures));
      } else {
        link.failures = 0;
      }
    }
  }

  async #send(link: WitnessLink, batch: readonly BacklogEntry[]): Promise<"sent" | "retry"> {
    const { customerId, nodeId, signer } = this.#options;
    const observations: EnvelopeObservation[] = batch.map(({ observation }) => ({
      checkpoint: observation.checkpoint,
      consistencyFromSize: observation.consistencyFromSize ?? 0,
      consistencyProof: observation.consistencyProof ?? [],
      dataHash: observation.dataHash ?? new Uint8Array(0),
    }));
    const sequence = this.#nextSequence();
    const signature = ed25519Sign(
      signer.privateKey,
      submissionEnvelope({ customerId, nodeId, sequence, observations }),
    );
    link.connection ??= connectWitness(link.endpoint);
    try {
      const response = await link.connection.client.submitBatch(
        create(SubmitBatchRequestSchema, {
          customerId,
          nodeId,
          submissionSequence: BigInt(sequence),
          observations: observations.map((observation) => ({
            checkpoint: observation.checkpoint,
            consistencyFromSize: BigInt(observation.consistencyFromSize),
            consistencyProof: [...observation.consistencyProof],
            dataHash: observation.dataHash,
          })),
          signature,
        }),
        { timeoutMs: this.#options.requestTimeoutMs ?? REQUEST_TIMEOUT_MS_DEFAULT },
      );
      await this.#acknowledge(link, batch, sequence);
      if (link.singly && link.queue.length === 0) link.singly = false;
      this.#options.onDelivered?.({
        witnessId: link.endpoint.id,
        entries: batch.length,
        statuses: response.results.map((result) => fromProtoStatus(result.status) ?? "accepted"),
      });
      return "sent";
    } catch (error) {
      const code = rejectionCodeOf(error);
      const message = error instanceof Error ? error.message : String(error);
      if (code === "WITNZ_WITNESS_SEQUENCE_BACKWARDS" || code === "WITNZ_WITNESS_REPLAY") {
        this.#lastSequence += SEQUENCE_JUMP;
      }
      if (code !== undefined && PERMANENT.includes(code)) {
        if (batch.length === 1) {
          await this.#acknowledge(link, batch, sequence);
          this.#options.onError?.(
            link.endpoint.id,
            new WitnessError(
              code,
              `witness ${link.endpoint.id} refused an observation for good: ${message}`,
              { cause: error },
            ),
            1,
          );
          return "sent";
        }
        link.singly = true;
      }
      this.#options.onError?.(
        link.endpoint.id,
        new WitnessError(
          code ?? "WITNZ_WITNESS_UNREACHABLE",
          `submission to witness ${link.endpoint.id} failed: ${message}`,
          { cause: error },
        ),
        0,
      );
      if (code === undefined) {
        // A broken session is rebuilt on the next attempt.
        link.connection?.close();
        link.connection = undefined;
      }
      return "retry";
    }
  }

  async #acknowledge(link: WitnessLink, batch: readonly BacklogEntry[], sequence: number) {
    await this.#options.persistence.acknowledge(
      link.endpoint.id,
      batch.map((entry) => entry.entryId),
      sequence,
    );
    link.queue.splice(0, batch.length);
  }

  #backoffMs(failures: number): number {
    const { initialDelayMs, maxDelayMs } = this.#retry;
    const capped = Math.min(maxDelayMs, initialDelayMs * 2 ** Math.min(failures - 1, 30));
    return capped / 2 + (capped / 2) * this.#random();
  }

  #sleep(link: WitnessLink, delayMs: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        link.wake = undefined;
        resolve();
      }, delayMs);
      // A stop cuts the wait short; a new observation does not (the witness is failing).
      link.wake = () => {
        if (this.#state !== "running") {
          clearTimeout(timer);
          resolve();
        }
      };
    });
  }
}

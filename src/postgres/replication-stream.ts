// Streams a logical replication slot through pgoutput: START_REPLICATION on a pinned WAL sender
// session, each CopyData copied, decoded in arrival order, and queued with a byte bound that
// pauses the socket. Positions are confirmed to the server only as the caller acknowledges them.

import type { Socket } from "node:net";
import type pg from "pg";
import { asPostgresError, PostgresError } from "./errors.js";
import { quoteIdentifier } from "./identifiers.js";
import { formatLsn, LSN_ZERO, type Lsn } from "./lsn.js";
import { PgoutputDecoder, type PgoutputMessage } from "./pgoutput.js";
import {
  decodeServerCopyMessage,
  encodeStandbyStatus,
  isWalData,
  XLOG_DATA_HEADER_BYTES,
} from "./replication-protocol.js";
import { connectReplicationSession, type PostgresConnectionOptions } from "./session.js";

/** pgoutput protocol version 1: supported by every server with pgoutput (PostgreSQL 10+). */
export const PGOUTPUT_PROTOCOL_VERSION = 1;
/** A status update at least this often keeps wal_sender_timeout (default 60 s) from firing. */
export const STATUS_INTERVAL_MS = 10_000;
/** Decoded messages waiting for the caller; above this the socket is paused. */
export const QUEUE_BYTES_MAX = 64 * 1024 * 1024;
/** One CopyData message: a row of several 1 GB values is possible but not supported. */
export const MESSAGE_BYTES_MAX = 1024 * 1024 * 1024;
const QUEUE_COMPACT_AT = 4_096;
/** Received messages are copied into slabs of this size (see CopySlabs). */
const COPY_SLAB_BYTES = 64 * 1024;
const START_TIMEOUT_MS = 30_000;

export interface ReplicationStreamOptions {
  readonly connection: PostgresConnectionOptions;
  readonly slotName: string;
  readonly publicationNames: readonly string[];
  /** Where to start; `LSN_ZERO` (the default) resumes at the slot's confirmed_flush_lsn. */
  readonly startLsn?: Lsn;
  readonly statusIntervalMs?: number;
  readonly queueBytesMax?: number;
  readonly messageBytesMax?: number;
  /**
   * When every transaction received so far is acknowledged and none is open, confirm the
   * server's keepalive position too, so WAL does not pile up behind an idle slot. On by default.
   */
  readonly confirmIdleWal?: boolean;
  /** Wall clock in microseconds since the Unix epoch, for status messages. */
  readonly nowUnixMicroseconds?: () => bigint;
}

export interface ReplicationStream {
  /** The next message in stream order, or `undefined` once the stream is closed. */
  next(): Promise<PgoutputMessage | undefined>;
  /**
   * The next message if one is queued, without waiting; `undefined` when none is (next() then
   * waits for one, or reports why the stream ended). Never call it while a next() is pending.
   */
  take(): PgoutputMessage | undefined;
  /** Iterates until close(); leaving the loop early leaves the stream open. */
  [Symbol.asyncIterator](): AsyncIterator<PgoutputMessage>;
  /**
   * Records that everything up to `lsn` (normally a Commit's `endLsn`) is durable on our side,
   * and tells the server at once. Never call it before the durable write.
   */
  acknowledge(lsn: Lsn): void;
  /** The highest position the caller acknowledged. */
  readonly acknowledgedLsn: Lsn;
  /** The highest position confirmed to the server (acknowledged, or idle WAL after it). */
  readonly confirmedLsn: Lsn;
  /** End LSN of the last Commit received (queued or delivered). */
  readonly receivedCommitEndLsn: Lsn;
  /** Messages received and not yet taken by next(): zero means next() would wait. */
  readonly queuedMessages: number;
  close(): Promise<void>;
}

/** The parts of pg's internal connection the stream needs; checked when the stream starts. */
interface WireConnection {
  on(event: "copyData", listener: (message: { chunk: Buffer }) => void): void;
  once(event: "replicationStart", listener: () => void): void;
  sendCopyFromChunk(chunk: Buffer): void;
  stream: Socket;
}

function wireConnection(client: pg.Client): WireConnection {
  const connection = (client as unknown as { connection?: Partial<WireConnection> }).connection;
  if (
    typeof connection?.on !== "function" ||
    typeof connection.sendCopyFromChunk !== "function" ||
    typeof connection.stream?.pause !== "function"
  ) {
    throw new PostgresError(
      "WITNZ_POSTGRES_REPLICATION",
      "this version of pg does not expose the connection the replication stream needs",
    );
  }
  return connection as WireConnection;
}

/** publication_names is a comma-separated list of identifiers inside one string literal. */
function startReplicationStatement(slot: string, start: Lsn, publications: readonly string[]) {
  const names = publications.map(quoteIdentifier).join(",").replaceAll("'", "''");
  return (
    `START_REPLICATION SLOT ${quoteIdentifier(slot)} LOGICAL ${formatLsn(start)} ` +
    `(proto_version '${PGOUTPUT_PROTOCOL_VERSION}', publication_names '${names}')`
  );
}

export async function startReplicationStream(
  options: ReplicationStreamOptions,
): Promise<ReplicationStream> {
  if (options.publicationNames.length === 0) {
    throw new PostgresError("WITNZ_POSTGRES_INVALID", "a replication stream needs a publication");
  }
  const client = await connectReplicationSession(options.connection);
  const stream = new PgoutputStream(client, options);
  try {
    await stream.start(
      startReplicationStatement(
        options.slotName,
        options.startLsn ?? LSN_ZERO,
        options.publicationNames,
      ),
    );
  } catch (error) {
    await stream.close();
    throw asPostgresError(
      error,
      "WITNZ_POSTGRES_REPLICATION",
      `starting replication from slot ${options.slotName}`,
    );
  }
  return stream;
}

/**
 * Copies of received messages, packed one after another into shared slabs: a fresh ArrayBuffer
 * per message costs several times the copy itself, to allocate and then to collect. A slab stays
 * alive while any view into it does; a message larger than a slab gets a buffer of its own.
 */
class CopySlabs {
  private slab = new Uint8Array(0);
  private used = 0;

  /** Copies `bytes`; returns the copy of the part from byte `from` on. */
  copy(bytes: Uint8Array, from: number): Uint8Array {
    const length = bytes.length;
    if (length > COPY_SLAB_BYTES) return new Uint8Array(bytes.subarray(from));
    if (this.used + length > this.slab.length) {
      this.slab = new Uint8Array(COPY_SLAB_BYTES);
      this.used = 0;
    }
    const start = this.used;
    this.slab.set(bytes, start);
    this.used += length;
    return this.slab.subarray(start + from, start + length);
  }
}

class PgoutputStream implements ReplicationStream {
  private readonly connection: WireConnection;
  private readonly decoder = new PgoutputDecoder();
  private readonly copies = new CopySlabs();
  private readonly queue: { message: PgoutputMessage; bytes: number }[] = [];
  private queueHead = 0;
  private queuedBytes = 0;
  private paused = false;
  private waiter: (() => void) | undefined;
  private failure: PostgresError | undefined;
  private closed = false;
  private closing: Promise<void> | undefined;
  private inTransaction = false;
  private timer: NodeJS.Timeout | undefined;
  private readonly queueBytesMax: number;
  private readonly messageBytesMax: number;
  private readonly confirmIdleWal: boolean;
  private readonly now: () => bigint;

  acknowledgedLsn: Lsn = LSN_ZERO;
  confirmedLsn: Lsn = LSN_ZERO;

  get queuedMessages(): number {
    return this.queue.length - this.queueHead;
  }
  receivedCommitEndLsn: Lsn = LSN_ZERO;

  constructor(
    private readonly client: pg.Client,
    private readonly options: ReplicationStreamOptions,
  ) {
    this.connection = wireConnection(client);
    this.queueBytesMax = options.queueBytesMax ?? QUEUE_BYTES_MAX;
    this.messageBytesMax = options.messageBytesMax ?? MESSAGE_BYTES_MAX;
    this.confirmIdleWal = options.confirmIdleWal ?? true;
    this.now = options.nowUnixMicroseconds ?? (() => BigInt(Date.now()) * 1000n);
    client.removeAllListeners("error");
    client.on("error", (error) => this.fail(error, "replication connection failed"));
    client.on("end", () => {
      if (!this.closed) this.fail(new Error("connection ended"), "replication connection ended");
    });
    this.connection.on("copyData", ({ chunk }) => this.receive(chunk));
  }

  async start(statement: string): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const started = new Promise<void>((resolve, reject) => {
      this.connection.once("replicationStart", resolve);
      timer = setTimeout(
        () => reject(new PostgresError("WITNZ_POSTGRES_LIMIT", "START_REPLICATION timed out")),
        START_TIMEOUT_MS,
      );
    });
    // The query stays active for the whole stream; it settles when the stream ends.
    const running = this.client.query(statement).then(
      () => {
        if (!this.closed) this.fail(new Error("the server ended the stream"), "replication ended");
        this.wake();
      },
      (error: unknown) => {
        if (!this.closed) this.fail(error, "replication failed");
        this.wake();
        throw error;
      },
    );
    try {
      await Promise.race([started, running]);
    } finally {
      clearTimeout(timer);
    }
    running.catch(() => {
      // Reported through fail() to the reader.
    });
    if (this.failure !== undefined) throw this.failure;
    const intervalMs = this.options.statusIntervalMs ?? STATUS_INTERVAL_MS;
    this.timer = setInterval(() => this.sendStatus(this.confirmIdleWal), intervalMs);
  }

  private receive(chunk: Buffer): void {
    if (this.closed || this.failure !== undefined) return;
    try {
      if (chunk.length > this.messageBytesMax) {
        throw new PostgresError(
          "WITNZ_POSTGRES_LIMIT",
          `a replication message of ${chunk.length} bytes exceeds ${this.messageBytesMax}`,
        );
      }
      if (!isWalData(chunk)) {
        // A keepalive: anything else is refused by decodeServerCopyMessage.
        const message = decodeServerCopyMessage(chunk);
        if (message.kind !== "keepalive") return;
        if (this.confirmIdleWal && this.idle() && message.walEnd > this.confirmedLsn) {
          this.confirmedLsn = message.walEnd;
        }
        if (message.replyRequested) this.sendStatus(false);
        return;
      }
      // pg's parser may later overwrite the buffer `chunk` views; decoded values view a copy.
      const decoded = this.decoder.decode(this.copies.copy(chunk, XLOG_DATA_HEADER_BYTES));
      if (decoded.kind === "begin") this.inTransaction = true;
      if (decoded.kind === "commit") {
        this.inTransaction = false;
        this.receivedCommitEndLsn = decoded.endLsn;
      }
      this.queue.push({ message: decoded, bytes: chunk.length });
      this.queuedBytes += chunk.length;
      if (this.queuedBytes > this.queueBytesMax && !this.paused) {
        this.paused = true;
        this.connection.stream.pause();
      }
      this.wake();
    } catch (error) {
      this.fail(error, "decoding the replication stream");
    }
  }

  /** Nothing received is unacknowledged and no transaction is half received. */
  private idle(): boolean {
    return !this.inTransaction && this.acknowledgedLsn >= this.receivedCommitEndLsn;
  }

  take(): PgoutputMessage | undefined {
    if (this.queueHead >= this.queue.length) return undefined;
    const entry = this.queue[this.queueHead]!;
    this.queue[this.queueHead] = undefined as never;
    this.queueHead++;
    if (this.queueHead >= QUEUE_COMPACT_AT) {
      this.queue.splice(0, this.queueHead);
      this.queueHead = 0;
    }
    this.queuedBytes -= entry.bytes;
    if (this.paused && this.queuedBytes <= this.queueBytesMax / 2) {
      this.paused = false;
      this.connection.stream.resume();
    }
    return entry.message;
  }

  async next(): Promise<PgoutputMessage | undefined> {
    for (;;) {
      const message = this.take();
      if (message !== undefined) return message;
      if (this.failure !== undefined) throw this.failure;
      if (this.closed) return undefined;
      await new Promise<void>((resolve) => {
        this.waiter = resolve;
      });
    }
  }

  [Symbol.asyncIterator](): AsyncIterator<PgoutputMessage> {
    return {
      next: async () => {
        const message = await this.next();
        return message === undefined
          ? { done: true, value: undefined }
          : { done: false, value: message };
      },
    };
  }

  acknowledge(lsn: Lsn): void {
    if (lsn < this.acknowledgedLsn) {
      throw new PostgresError(
        "WITNZ_POSTGRES_INVALID",
        `acknowledged ${formatLsn(lsn)} after ${formatLsn(this.acknowledgedLsn)}: never backwards`,
      );
    }
    if (lsn > this.receivedCommitEndLsn) {
      throw new PostgresError(
        "WITNZ_POSTGRES_INVALID",
        `acknowledged ${formatLsn(lsn)} beyond the last received commit ` +
          formatLsn(this.receivedCommitEndLsn),
      );
    }
    if (lsn === this.acknowledgedLsn) return;
    this.acknowledgedLsn = lsn;
    if (lsn > this.confirmedLsn) this.confirmedLsn = lsn;
    this.sendStatus(false);
  }

  private sendStatus(replyRequested: boolean): void {
    if (this.closed || this.failure !== undefined) return;
    const position = this.confirmedLsn;
    const status = encodeStandbyStatus({
      written: position,
      flushed: position,
      applied: position,
      nowUnixMicroseconds: this.now(),
      replyRequested,
    });
    try {
      this.connection.sendCopyFromChunk(
        Buffer.from(status.buffer, status.byteOffset, status.length),
      );
    } catch (error) {
      this.fail(error, "sending a standby status update");
    }
  }

  private wake(): void {
    const waiter = this.waiter;
    this.waiter = undefined;
    waiter?.();
  }

  private fail(error: unknown, context: string): void {
    if (this.failure !== undefined || this.closed) return;
    this.failure = asPostgresError(error, "WITNZ_POSTGRES_REPLICATION", context);
    clearInterval(this.timer);
    this.client.end().catch(() => {});
    this.wake();
  }

  close(): Promise<void> {
    this.closing ??= this.shutDown();
    return this.closing;
  }

  private async shutDown(): Promise<void> {
    this.closed = true;
    clearInterval(this.timer);
    this.wake();
    if (this.paused) this.connection.stream.resume();
    await this.client.end().catch(() => {});
  }
}

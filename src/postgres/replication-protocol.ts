// The streaming replication sub-protocol carried in CopyData messages once START_REPLICATION
// has switched the connection to copy-both mode. Pure: bytes in, values out; the clock is a
// parameter. Reference: PostgreSQL documentation, "Streaming Replication Protocol".

import { PostgresError } from "./errors.js";
import { type Lsn, toLsn } from "./lsn.js";

/** Microseconds from the Unix epoch to PostgreSQL's epoch, 2000-01-01 00:00:00 UTC. */
export const POSTGRES_EPOCH_UNIX_MICROSECONDS = 946_684_800_000_000n;

const XLOG_DATA = 0x77; // 'w'
const PRIMARY_KEEPALIVE = 0x6b; // 'k'
const STANDBY_STATUS_UPDATE = 0x72; // 'r'
/** Tag, WAL start, WAL end and send time before an XLogData message's payload. */
export const XLOG_DATA_HEADER_BYTES = 1 + 8 + 8 + 8;
const KEEPALIVE_BYTES = 1 + 8 + 8 + 1;
const STANDBY_STATUS_BYTES = 1 + 8 + 8 + 8 + 8 + 1;

export type ServerCopyMessage =
  | {
      readonly kind: "wal-data";
      /** WAL position where this message's data starts. */
      readonly walStart: Lsn;
      /** The server's current end of WAL. */
      readonly walEnd: Lsn;
      readonly sendTimeUnixMicroseconds: bigint;
      /** One pgoutput message; a view into the CopyData bytes. */
      readonly payload: Uint8Array;
    }
  | {
      readonly kind: "keepalive";
      /** The server's current end of WAL (for a logical slot: how far it has decoded and sent). */
      readonly walEnd: Lsn;
      readonly sendTimeUnixMicroseconds: bigint;
      /** The server disconnects after wal_sender_timeout unless we answer soon. */
      readonly replyRequested: boolean;
    };

function view(bytes: Uint8Array): DataView {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/**
 * True for an XLogData ('w') CopyData payload: its pgoutput message starts after
 * XLOG_DATA_HEADER_BYTES. A reader that needs only that message can skip decodeServerCopyMessage,
 * which also reads the header's two positions and send time as bigints.
 */
export function isWalData(bytes: Uint8Array): boolean {
  return bytes[0] === XLOG_DATA && bytes.length >= XLOG_DATA_HEADER_BYTES;
}

/** Decodes one CopyData payload sent by a WAL sender. */
export function decodeServerCopyMessage(bytes: Uint8Array): ServerCopyMessage {
  const data = view(bytes);
  const tag = bytes.length > 0 ? bytes[0] : undefined;
  if (tag === XLOG_DATA && bytes.length >= XLOG_DATA_HEADER_BYTES) {
    return {
      kind: "wal-data",
      walStart: toLsn(data.getBigUint64(1)),
      walEnd: toLsn(data.getBigUint64(9)),
      sendTimeUnixMicroseconds: data.getBigInt64(17) + POSTGRES_EPOCH_UNIX_MICROSECONDS,
      payload: bytes.subarray(XLOG_DATA_HEADER_BYTES),
    };
  }
  if (tag === PRIMARY_KEEPALIVE && bytes.length === KEEPALIVE_BYTES) {
    return {
      kind: "keepalive",
      walEnd: toLsn(data.getBigUint64(1)),
      sendTimeUnixMicroseconds: data.getBigInt64(9) + POSTGRES_EPOCH_UNIX_MICROSECONDS,
      replyRequested: bytes[17] === 1,
    };
  }
  throw new PostgresError(
    "WITNZ_POSTGRES_PROTOCOL",
    `unexpected replication message: tag ${tag ?? "none"}, ${bytes.length} bytes`,
  );
}

export interface StandbyStatus {
  /** Last WAL byte + 1 received and written. */
  readonly written: Lsn;
  /** Last WAL byte + 1 durable on our side: a logical slot's confirmed_flush_lsn moves here. */
  readonly flushed: Lsn;
  /** Last WAL byte + 1 applied. */
  readonly applied: Lsn;
  readonly nowUnixMicroseconds: bigint;
  /** Asks the server to answer with a keepalive at once. */
  readonly replyRequested: boolean;
}

/** Encodes a Standby Status Update ('r') for a CopyData message. */
export function encodeStandbyStatus(status: StandbyStatus): Uint8Array {
  const bytes = new Uint8Array(STANDBY_STATUS_BYTES);
  const data = view(bytes);
  bytes[0] = STANDBY_STATUS_UPDATE;
  data.setBigUint64(1, status.written);
  data.setBigUint64(9, status.flushed);
  data.setBigUint64(17, status.applied);
  data.setBigInt64(25, status.nowUnixMicroseconds - POSTGRES_EPOCH_UNIX_MICROSECONDS);
  bytes[33] = status.replyRequested ? 1 : 0;
  return bytes;
}

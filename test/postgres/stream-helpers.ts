// Reading a replication stream in tests: with a deadline, so a missing event fails the test
// instead of hanging it.

import type { PgoutputMessage, ReplicationStream } from "../../src/postgres/index.js";

export const READ_TIMEOUT_MS = 15_000;

export async function nextWithin(
  stream: ReplicationStream,
  timeoutMs = READ_TIMEOUT_MS,
): Promise<PgoutputMessage> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`no replication message in ${timeoutMs} ms`)),
      timeoutMs,
    );
  });
  try {
    const message = await Promise.race([stream.next(), timeout]);
    if (message === undefined) throw new Error("the stream closed");
    return message;
  } finally {
    clearTimeout(timer);
  }
}

export interface Transaction {
  readonly begin: Extract<PgoutputMessage, { kind: "begin" }>;
  /** Everything between Begin and Commit, Relation messages included. */
  readonly messages: readonly PgoutputMessage[];
  readonly commit: Extract<PgoutputMessage, { kind: "commit" }>;
}

/** Reads one whole transaction; the next message must be its Begin. */
export async function readTransaction(stream: ReplicationStream): Promise<Transaction> {
  const begin = await nextWithin(stream);
  if (begin.kind !== "begin") throw new Error(`expected begin, got ${begin.kind}`);
  const messages: PgoutputMessage[] = [];
  for (;;) {
    const message = await nextWithin(stream);
    if (message.kind === "commit") return { begin, messages, commit: message };
    if (message.kind === "begin") throw new Error("begin inside a transaction");
    messages.push(message);
  }
}

export const decodeText = (value: unknown): string => {
  if (!(value instanceof Uint8Array)) throw new Error(`not a text value: ${String(value)}`);
  return new TextDecoder().decode(value);
};

// How a runner reaches its peers. Sending never blocks and may lose messages (Raft retries);
// messages to one peer leave in the order they were sent.
import type { Message, NodeId } from "../index.js";
import { RaftRunnerError } from "./errors.js";

export interface RaftTransport {
  /** Starts delivering messages addressed to this node to `receive`. */
  start(receive: (message: Message) => void): Promise<void>;
  /** Queues `message` for `message.to`; a message to an unknown or unreachable peer is dropped. */
  send(message: Message): void;
  /** Where to reach a peer (replaces any earlier address). */
  setPeer(id: NodeId, address: string): void;
  /** The address of a peer, if known. */
  peerAddress(id: NodeId): string | undefined;
  /** Stops sending and receiving; pending messages are dropped. */
  close(): Promise<void>;
}

/** Messages queued for one peer before newer ones are dropped. */
export const MEMORY_QUEUE_MESSAGES_MAX = 4096;

/**
 * Nodes of one process joined by an in-memory network, for tests. Delivery is asynchronous
 * (the next turn of the event loop), in order per link; `isolate` cuts a node off both ways.
 */
export class MemoryNetwork {
  private readonly receivers = new Map<NodeId, (message: Message) => void>();
  private readonly isolated = new Set<NodeId>();
  private readonly queued = new Map<string, number>();

  transport(id: NodeId): RaftTransport {
    const addresses = new Map<NodeId, string>();
    let open = true;
    return {
      start: async (receive) => {
        this.receivers.set(id, receive);
      },
      send: (message) => {
        if (!open || message.from !== id) return;
        const link = `${message.from}>${message.to}`;
        const depth = this.queued.get(link) ?? 0;
        if (depth >= MEMORY_QUEUE_MESSAGES_MAX) return;
        this.queued.set(link, depth + 1);
        setImmediate(() => {
          this.queued.set(link, (this.queued.get(link) ?? 1) - 1);
          if (this.isolated.has(message.from) || this.isolated.has(message.to)) return;
          this.receivers.get(message.to)?.(message);
        });
      },
      setPeer: (peer, address) => {
        addresses.set(peer, address);
      },
      peerAddress: (peer) => addresses.get(peer) ?? `memory:${peer}`,
      close: async () => {
        open = false;
        if (this.receivers.has(id)) this.receivers.delete(id);
      },
    };
  }

  isolate(id: NodeId): void {
    this.isolated.add(id);
  }

  heal(id: NodeId): void {
    this.isolated.delete(id);
  }
}

export function transportError(message: string, cause?: unknown): RaftRunnerError {
  return new RaftRunnerError("WITNZ_RAFT_TRANSPORT", message, cause === undefined ? {} : { cause });
}

// Raft messages to and from their protobuf form (proto/raft.proto). Decoding checks what the
// core trusts: integers within 2^53, known entry types, node ids of the allowed shape.
import { create } from "@bufbuild/protobuf";
import {
  type Entry as EntryProto,
  EntrySchema,
  EntryType as EntryTypeProto,
  type RaftMessage,
  RaftMessageSchema,
} from "../../gen/raft_pb.js";
import type { Entry, EntryType, LogIndex, Message, NodeId, Term } from "../index.js";
import { RaftRunnerError, toNodeId } from "../index.js";

const ENTRY_TYPE_TO_PROTO: Record<EntryType, EntryTypeProto> = {
  normal: EntryTypeProto.NORMAL,
  "conf-change": EntryTypeProto.CONF_CHANGE,
  noop: EntryTypeProto.NOOP,
};

const big = (value: number): bigint => BigInt(value);

export function encodeMessage(message: Message): RaftMessage {
  const header = { from: message.from, to: message.to, term: big(message.term) };
  switch (message.type) {
    case "pre-vote":
    case "vote":
      return create(RaftMessageSchema, {
        ...header,
        body: {
          case: "vote",
          value: {
            preVote: message.type === "pre-vote",
            lastLogIndex: big(message.lastLogIndex),
            lastLogTerm: big(message.lastLogTerm),
            leadershipTransfer: message.leadershipTransfer,
          },
        },
      });
    case "pre-vote-response":
    case "vote-response":
      return create(RaftMessageSchema, {
        ...header,
        body: {
          case: "voteResponse",
          value: { preVote: message.type === "pre-vote-response", granted: message.granted },
        },
      });
    case "append":
      return create(RaftMessageSchema, {
        ...header,
        body: {
          case: "append",
          value: {
            prevLogIndex: big(message.prevLogIndex),
            prevLogTerm: big(message.prevLogTerm),
            entries: message.entries.map(encodeEntry),
            leaderCommit: big(message.leaderCommit),
          },
        },
      });
    case "append-response":
      return create(RaftMessageSchema, {
        ...header,
        body: {
          case: "appendResponse",
          value: {
            success: message.success,
            matchIndex: big(message.matchIndex),
            rejectedIndex: big(message.rejectedIndex),
            hintIndex: big(message.hintIndex),
            hintTerm: big(message.hintTerm),
          },
        },
      });
    case "heartbeat":
      return create(RaftMessageSchema, {
        ...header,
        body: {
          case: "heartbeat",
          value: {
            leaderCommit: big(message.leaderCommit),
            readSequence: big(message.readSequence),
          },
        },
      });
    case "heartbeat-response":
      return create(RaftMessageSchema, {
        ...header,
        body: { case: "heartbeatResponse", value: { readSequence: big(message.readSequence) } },
      });
    case "snapshot": {
      const { metadata, data } = message.snapshot;
      return create(RaftMessageSchema, {
        ...header,
        body: {
          case: "snapshot",
          value: {
            snapshot: {
              index: big(metadata.index),
              term: big(metadata.term),
              confState: {
                voters: [...metadata.confState.voters],
                learners: [...metadata.confState.learners],
              },
              data,
            },
          },
        },
      });
    }
    case "timeout-now":
      return create(RaftMessageSchema, { ...header, body: { case: "timeoutNow", value: {} } });
  }
}

function encodeEntry(entry: Entry): EntryProto {
  return create(EntrySchema, {
    index: big(entry.index),
    term: big(entry.term),
    type: ENTRY_TYPE_TO_PROTO[entry.type],
    data: entry.data,
  });
}

export function decodeMessage(proto: RaftMessage): Message {
  const header = { from: nodeId(proto.from), to: nodeId(proto.to), term: term(proto.term) };
  const body = proto.body;
  switch (body.case) {
    case "vote":
      return {
        ...header,
        type: body.value.preVote ? "pre-vote" : "vote",
        lastLogIndex: logIndex(body.value.lastLogIndex),
        lastLogTerm: term(body.value.lastLogTerm),
        leadershipTransfer: body.value.leadershipTransfer,
      };
    case "voteResponse":
      return {
        ...header,
        type: body.value.preVote ? "pre-vote-response" : "vote-response",
        granted: body.value.granted,
      };
    case "append":
      return {
        ...header,
        type: "append",
        prevLogIndex: logIndex(body.value.prevLogIndex),
        prevLogTerm: term(body.value.prevLogTerm),
        entries: body.value.entries.map(decodeEntry),
        leaderCommit: logIndex(body.value.leaderCommit),
      };
    case "appendResponse":
      return {
        ...header,
        type: "append-response",
        success: body.value.success,
        matchIndex: logIndex(body.value.matchIndex),
        rejectedIndex: logIndex(body.value.rejectedIndex),
        hintIndex: logIndex(body.value.hintIndex),
        hintTerm: term(body.value.hintTerm),
      };
    case "heartbeat":
      return {
        ...header,
        type: "heartbeat",
        leaderCommit: logIndex(body.value.leaderCommit),
        readSequence: safe(body.value.readSequence),
      };
    case "heartbeatResponse":
      return { ...header, type: "heartbeat-response", readSequence: safe(body.value.readSequence) };
    case "snapshot": {
      const snapshot = body.value.snapshot;
      if (snapshot === undefined) throw malformed("a snapshot message without a snapshot");
      return {
        ...header,
        type: "snapshot",
        snapshot: {
          metadata: {
            index: logIndex(snapshot.index),
            term: term(snapshot.term),
            confState: {
              voters: (snapshot.confState?.voters ?? []).map(nodeId),
              learners: (snapshot.confState?.learners ?? []).map(nodeId),
            },
          },
          data: snapshot.data,
        },
      };
    }
    case "timeoutNow":
      return { ...header, type: "timeout-now" };
    default:
      throw malformed("a message without a body");
  }
}

function decodeEntry(proto: EntryProto): Entry {
  const types: Partial<Record<EntryTypeProto, EntryType>> = {
    [EntryTypeProto.NORMAL]: "normal",
    [EntryTypeProto.CONF_CHANGE]: "conf-change",
    [EntryTypeProto.NOOP]: "noop",
  };
  const type = types[proto.type];
  if (type === undefined) throw malformed(`an entry of unknown type ${proto.type}`);
  return { index: logIndex(proto.index), term: term(proto.term), type, data: proto.data };
}

function safe(value: bigint): number {
  if (value > BigInt(Number.MAX_SAFE_INTEGER)) throw malformed(`an integer above 2^53: ${value}`);
  return Number(value);
}
const term = (value: bigint): Term => safe(value) as Term;
const logIndex = (value: bigint): LogIndex => safe(value) as LogIndex;

function nodeId(value: string): NodeId {
  try {
    return toNodeId(value);
  } catch (error) {
    throw malformed(`a malformed node id "${value.slice(0, 64)}"`, error);
  }
}

function malformed(what: string, cause?: unknown): RaftRunnerError {
  return new RaftRunnerError(
    "WITNZ_RAFT_TRANSPORT",
    `a peer sent ${what}`,
    cause === undefined ? {} : { cause },
  );
}

// The Raft consensus core: a pure state machine driven by ticks and messages, handing out
// Ready batches (persist, then send, then apply). See docs/design/raft.md.

export {
  applyConfChange,
  bootstrapEntries,
  confStatesEqual,
  decodeConfChange,
  EMPTY_CONF_STATE,
  encodeConfChange,
  isLearner,
  isMember,
  isVoter,
  members,
  quorumSize,
} from "./core/configuration.js";
export { RaftError, type RaftErrorCode } from "./core/errors.js";
export { DEFAULT_LIMITS, type RaftLimits } from "./core/limits.js";
export type { Refusal } from "./core/raft.js";
export {
  type FaultInjection,
  type ProposalResult,
  RaftNode,
  type RaftNodeOptions,
  type RaftStatus,
  type Ready,
  type RefusalCode,
  type RequestResult,
} from "./core/raft-node.js";
export { type RandomSource, SeededRandom } from "./core/random.js";
export { entryBytes, type InitialState, MemoryStorage, type RaftStorage } from "./core/storage.js";
export {
  type AppendRequest,
  type AppendResponse,
  type ConfChange,
  type ConfState,
  type Entry,
  type EntryType,
  type HardState,
  type Heartbeat,
  type HeartbeatResponse,
  type InstallSnapshot,
  LOG_INDEX_ZERO,
  type LogIndex,
  type Message,
  type MessageType,
  type NodeId,
  type ReadState,
  type Role,
  type Snapshot,
  type SnapshotMetadata,
  type SoftState,
  TERM_ZERO,
  type Term,
  type TimeoutNow,
  toLogIndex,
  toNodeId,
  toTerm,
  type VoteRequest,
  type VoteResponse,
} from "./core/types.js";
export {
  type DurableRaftStorage,
  ELECTION_TIMEOUT_TICKS_DEFAULT,
  HEARTBEAT_INTERVAL_TICKS_DEFAULT,
  LmdbRaftStorage,
  MemoryNetwork,
  OPERATION_TIMEOUT_MS_DEFAULT,
  type OperationOptions,
  type PersistRequest,
  RaftRunner,
  RaftRunnerError,
  type RaftRunnerErrorCode,
  type RaftRunnerOptions,
  type RaftTransport,
  type RunnerState,
  type ServerInfo,
  SNAPSHOT_BYTES_MAX,
  SNAPSHOT_EVERY_ENTRIES_DEFAULT,
  SNAPSHOT_TRAILING_ENTRIES_DEFAULT,
  type StateMachine,
  TICK_MS_DEFAULT,
} from "./runner/index.js";
export {
  ConnectRaftTransport,
  type ConnectTransportOptions,
  decodeMessage,
  encodeMessage,
  PROPOSE_BYTES_MAX,
  type ProposalHandler,
  type SeedChunks,
  type SeedHandler,
  type TlsFiles,
} from "./transport/index.js";

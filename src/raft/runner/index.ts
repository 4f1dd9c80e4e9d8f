// The Raft runner: LMDB storage, the persist-send-apply loop, the hashicorp-shaped API.
export * from "./errors.js";
export {
  type DurableRaftStorage,
  LmdbRaftStorage,
  type PersistRequest,
  SNAPSHOT_BYTES_MAX,
} from "./lmdb-raft-storage.js";
export * from "./raft-runner.js";
export type { StateMachine } from "./state-machine.js";
export { MemoryNetwork, type RaftTransport } from "./transport.js";

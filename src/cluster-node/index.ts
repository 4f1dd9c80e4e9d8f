// The cluster runtime on one node: the Raft runner's state machine over the replicated cluster
// state, and the node's proposals (progress, observations) and leader duties (membership,
// attestation targets, disagreement alerts). See docs/design/cluster.md, section "Runtime".

export {
  type ClusterMember,
  ClusterNode,
  type ClusterNodeOptions,
  type ClusterRaft,
  DUTY_INTERVAL_MS_DEFAULT,
  disagreementMessage,
  type ForwardToLeader,
  PROPOSE_TIMEOUT_MS_DEFAULT,
} from "./cluster-node.js";
export { ClusterNodeError, type ClusterNodeErrorCode } from "./errors.js";
export { type ClusterEventListener, ClusterStateMachineAdapter } from "./state-machine-adapter.js";

export {
  clusterOrigin,
  monotonicMicroseconds,
  type NodeHooks,
  type NodeLogger,
  type RunningNode,
  startNode,
} from "./node.js";
export { stageViolation } from "./violations.js";

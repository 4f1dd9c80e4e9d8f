// Running Witnz on one machine (the demo, benchmarks and tests): a node's configuration for a
// local PostgreSQL, free loopback ports, and a Raft cluster of `witnz start` processes.
export {
  type LocalClusterOptions,
  LocalNodeProcess,
  type LocalWitnessOptions,
  type LocalWitnessPlan,
  localLeader,
  planLocalWitnesses,
  prepareLocalCluster,
  prepareLocalWitnesses,
} from "./cluster.js";
export {
  freePort,
  type LocalClusterMembership,
  type LocalNodeConfigOptions,
  localNodeConfigYaml,
} from "./node-config.js";

import { expect } from "vitest";
import { ConfigError } from "../../src/config/index.js";

/** Runs `action`, which must throw a ConfigError, and returns that error. */
export function configErrorOf(action: () => unknown): ConfigError {
  try {
    action();
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return error as ConfigError;
  }
  throw new Error("expected a ConfigError, but nothing was thrown");
}

/** The bootstrap node of the specification, unchanged. */
export const SPEC_BOOTSTRAP_NODE = `database:
  host: localhost
  port: 5432
  database: mydb
  user: witnz
  password: secret

node:
  id: node1
  bind_addr: node1:7000        # Use hostname, not 0.0.0.0 (Raft requirement)
  grpc_addr: 0.0.0.0:8000
  data_dir: /data
  bootstrap: true              # Only one node should be bootstrap
  peer_addrs:                  # Map format: {node_id: address}
    node2: node2:7000
    node3: node3:7000

protected_tables:
  - name: audit_log
    verify_interval: 30m
  - name: financial_transactions
    verify_interval: 10m

alerts:
  enabled: true
  slack_webhook: https://hooks.slack.com/...
`;

/** The smallest valid raft node: only what has no default. */
export const MINIMAL_RAFT_NODE = `database:
  database: mydb
  user: witnz
node:
  id: node1
  bind_addr: node1:7000
  data_dir: /data
protected_tables:
  - name: audit_log
`;

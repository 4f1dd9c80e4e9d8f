import type { NodeRole } from "./schema.js";

const RAFT_EXAMPLE = `# Witnz node configuration. Any setting can also come from an environment variable named
# WITNZ_ and its upper-cased path: WITNZ_DATABASE_PASSWORD, WITNZ_NODE_BIND_ADDR, ...
# Durations are written with units: 500ms, 10s, 30m, 1h30m, 2d.

database:
  host: localhost
  port: 5432
  database: mydb
  user: witnz
  password: \${PGPASSWORD}       # read from the environment when the file is loaded
  sslmode: prefer               # disable | prefer | require | verify-full
  application_name: witnz

node:
  id: node1                     # a-z, 0-9, _; names the replication slot witnz_node1
  role: raft                    # raft | witness
  bind_addr: node1:7000         # Raft peers connect here: use a name they can reach
  grpc_addr: 0.0.0.0:8000
  http_addr: 127.0.0.1:7070
  data_dir: /var/lib/witnz
  bootstrap: true               # true on exactly one node of a new cluster
  peer_addrs:                   # the other raft nodes: id -> host:port
    node2: node2:7000
    node3: node3:7000
  # key_file: /var/lib/witnz/node.key   (default: <data_dir>/node.key)
  # tls_ca_file: /etc/witnz/ca.crt      mutual TLS between raft nodes (witnz certs makes
  # tls_cert_file: /etc/witnz/node1.crt  development ones): the CA, this node's certificate
  # tls_key_file: /etc/witnz/node1.key   and its key
  log_level: info               # trace | debug | info | warn | error | fatal

protected_tables:
  - name: audit_log
    mode: append_only
    verify_interval: 30m
  - name: public.financial_transactions
    verify_interval: 10m

alerts:
  enabled: true
  # slack_webhook: https://hooks.slack.com/services/...
  # webhook:
  #   url: https://alerts.example.com/witnz
  #   secret: \${WITNZ_WEBHOOK_SECRET}

witnz_nodes:                    # witnesses that receive this cluster's signed hashes
  - id: witness1
    address: witness1:9000
hash_collection_timeout: 30s
`;

const WITNESS_EXAMPLE = `# Witnz witness configuration. A witness never connects to a database: it receives signed
# hashes from raft nodes and compares them. Any setting can also come from an environment
# variable named WITNZ_ and its upper-cased path, e.g. WITNZ_NODE_GRPC_ADDR.

node:
  id: witness1
  role: witness
  grpc_addr: 0.0.0.0:9000       # raft nodes submit their hashes here
  http_addr: 127.0.0.1:7070
  data_dir: /var/lib/witnz
  log_level: info

alerts:
  enabled: true
  # slack_webhook: https://hooks.slack.com/services/...

# customers:                    # whose raft nodes may submit: the customer id is their
#   - id: acme                  # node.cluster_id; each node's key is what witnz keygen printed
#     nodes:
#       - id: node1
#         verifier_key: witnz/acme/node/node1+<key id>+<key>

hash_collection_timeout: 30s    # how long to wait for every raft node's hash
`;

/** A commented configuration for a raft node (the default) or a witness; it parses as is. */
export function exampleConfigYaml(options: { readonly role?: NodeRole } = {}): string {
  return options.role === "witness" ? WITNESS_EXAMPLE : RAFT_EXAMPLE;
}

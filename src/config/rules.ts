import { type ConfigPath, formatPath, showValue } from "./display.js";
import { canonicalTableName, isNodeId, NODE_ID_RULE } from "./scalars.js";
import { isMapping, valueAt } from "./tree.js";

// Rules that join several fields. They read the tree before validation, so they run even when
// some field is invalid, and they judge only what they can read (a role that is not raft or
// witness is reported by validation, and the role rules then stay silent).

export interface RuleProblem {
  readonly path: ConfigPath;
  readonly message: string;
  /** Validation problems under this path are dropped: this one says it better. */
  readonly supersedes?: boolean;
}

export function ruleProblems(tree: unknown, databaseVariables: readonly string[]): RuleProblem[] {
  const problems: RuleProblem[] = [];
  const node = valueAt(tree, ["node"]);
  const roleText = valueAt(tree, ["node", "role"]);
  const role = roleText === undefined ? "raft" : roleText;
  const database = valueAt(tree, ["database"]);
  const tables = valueAt(tree, ["protected_tables"]);

  if (role === "witness" && database !== undefined) {
    const origin = databaseVariables.length > 0 ? ` (set by ${databaseVariables.join(", ")})` : "";
    problems.push({
      path: ["database"],
      message: `not allowed when node.role is witness; a witness never connects to a database${origin}`,
      supersedes: true,
    });
  }
  if (role === "raft") {
    if (database === undefined) {
      problems.push({ path: ["database"], message: "missing; required for a raft node" });
    }
    if (tables === undefined) {
      problems.push({
        path: ["protected_tables"],
        message: "missing; a raft node protects at least one table",
      });
    } else if (Array.isArray(tables) && tables.length === 0) {
      problems.push({
        path: ["protected_tables"],
        message: "empty; a raft node protects at least one table",
      });
    }
    if (isMapping(node) && node.bind_addr === undefined) {
      problems.push({
        path: ["node", "bind_addr"],
        message: "missing; required for a raft node (its Raft peers connect here)",
      });
    }
  }
  if (role === "raft" && valueAt(tree, ["customers"]) !== undefined) {
    problems.push({
      path: ["customers"],
      message: "not allowed when node.role is raft; only a witness accepts customers' submissions",
    });
  }
  if (role === "witness" && isMapping(node) && node.grpc_addr === undefined) {
    problems.push({
      path: ["node", "grpc_addr"],
      message: "missing; required for a witness (raft nodes submit their hashes here)",
    });
  }

  const peers = valueAt(tree, ["node", "peer_addrs"]);
  if (isMapping(peers)) {
    for (const id of Object.keys(peers)) {
      if (!isNodeId(id)) {
        problems.push({
          path: ["node", "peer_addrs"],
          message: `has the key ${showValue(id)}, which is not a valid node id; ${NODE_ID_RULE}`,
        });
      }
    }
  }

  problems.push(...duplicates(tables, "protected_tables", "name", canonicalTableName, "table"));
  problems.push(
    ...duplicates(valueAt(tree, ["witnz_nodes"]), "witnz_nodes", "id", (id) => id, "witness"),
  );
  const customers = valueAt(tree, ["customers"]);
  problems.push(...duplicates(customers, "customers", "id", (id) => id, "customer"));
  if (Array.isArray(customers)) {
    customers.forEach((customer, index) => {
      const nodes = isMapping(customer) ? customer.nodes : undefined;
      for (const problem of duplicates(nodes, "nodes", "id", (id) => id, "node")) {
        problems.push({ ...problem, path: ["customers", index, ...problem.path] });
      }
    });
  }
  return problems;
}

function duplicates(
  list: unknown,
  listKey: string,
  field: string,
  identity: (value: string) => string,
  noun: string,
): RuleProblem[] {
  if (!Array.isArray(list)) return [];
  const firstIndex = new Map<string, number>();
  const problems: RuleProblem[] = [];
  list.forEach((item, index) => {
    const value = isMapping(item) ? item[field] : undefined;
    if (typeof value !== "string") return;
    const key = identity(value);
    const first = firstIndex.get(key);
    if (first === undefined) {
      firstIndex.set(key, index);
      return;
    }
    problems.push({
      path: [listKey, index, field],
      message: `${showValue(value)} is listed twice (first at ${formatPath([listKey, first])}); list each ${noun} once`,
    });
  });
  return problems;
}

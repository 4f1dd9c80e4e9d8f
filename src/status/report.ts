// How `witnz status` prints: one JSON object (docs/design/status.md), or a compact table.
import type { ClusterStatus } from "../cluster-node/index.js";
import type { NodeHealth, NodeStatus, TableStatus } from "./status.js";

/** Hex digits of a hash shown in the table; the JSON always has all 64. */
export const HASH_HEX_SHOWN = 16;

export function formatStatusJson(status: NodeStatus): string {
  return `${JSON.stringify(status, null, 2)}\n`;
}

export function formatStatusText(status: NodeStatus): string {
  const database = status.database;
  const lines = [
    `node ${status.node}: ${describeHealth(status.health)}`,
    `store ${status.store.directory}: ${status.store.readable ? "readable" : `unreadable (${status.store.error})`}`,
  ];
  if (database.reachable) {
    const slot = database.slot;
    const slotText = slot.exists
      ? `slot ${slot.name} ${slot.active === true ? "active" : "inactive"}, confirmed ${slot.confirmedFlushLsn ?? "-"}`
      : `slot ${slot.name} missing; run witnz init`;
    lines.push(
      `database ${database.address}: WAL at ${database.currentLsn}, ${slotText}, lag ${formatBytes(database.lagBytes)}`,
    );
  } else {
    lines.push(`database ${database.address}: ${database.error}`);
  }
  const captured = status.tables[0]?.lastLsn;
  if (captured !== undefined) lines.push(`captured up to ${captured ?? "nothing yet"}`);
  lines.push("");
  const header = ["TABLE", "CHAIN", "HEAD", "ROOT", "SIZE", "LAG", "VIOLATIONS", "VERIFIED"];
  const rows = status.tables.map(tableRow);
  lines.push(...alignColumns([header, ...rows]));
  if (status.cluster !== null) lines.push("", ...clusterLines(status.cluster));
  for (const error of status.errors) lines.push(`error: ${error}`);
  return `${lines.join("\n")}\n`;
}

function clusterLines(cluster: ClusterStatus): string[] {
  const agreement = cluster.allAgree
    ? "all nodes agree"
    : cluster.disagreements > 0
      ? `${cluster.disagreements} disagreement(s) recorded`
      : "attestations pending";
  const lines = [
    `cluster: leader ${cluster.leader ?? "unknown"}, term ${cluster.term}, this node ${cluster.state}; ${agreement}`,
  ];
  const nodeRows = cluster.nodes.map((node) => [
    node.node,
    node.leader ? "leader" : node.suffrage,
    node.registered ? (node.restored ? "restored, not counting" : "counting") : "not registered",
  ]);
  lines.push(...alignColumns([["NODE", "RAFT", "OBSERVATIONS"], ...nodeRows]));
  const tableRows = cluster.tables.flatMap((table) =>
    table.nodes.map((node) => [
      table.table,
      node.node,
      String(node.reportedSize),
      String(node.lagEntries),
      String(node.attestedSize),
      String(table.agreedSize),
      table.standingDisagreement?.oddNodes.includes(node.node) === true
        ? `odd node out at ${table.standingDisagreement.size}`
        : table.agreement,
    ]),
  );
  lines.push(
    "",
    ...alignColumns([
      ["TABLE", "NODE", "SIZE", "LAG", "ATTESTED", "AGREED", "STATE"],
      ...tableRows,
    ]),
  );
  return lines;
}

function describeHealth(health: NodeHealth): string {
  switch (health.state) {
    case "ready":
      return `running and ready (${health.url})`;
    case "not_ready":
      return `running, not ready: ${health.reasons.join("; ") || "no reason given"}`;
    case "not_running":
      return `not running (${health.url}: ${health.reasons.join("; ")})`;
    case "unresponsive":
      return `not answering (${health.url}: ${health.reasons.join("; ")})`;
  }
}

function tableRow(table: TableStatus): string[] {
  const verification = table.lastVerification;
  let verified = "never";
  if (verification !== null) {
    const findings =
      verification.outcome === "error"
        ? `failed: ${verification.error ?? "no reason recorded"}`
        : verification.ok
          ? `ok, ${verification.rowsChecked} rows`
          : `TAMPERED: ${verification.modified} modified, ${verification.deleted} deleted, ${verification.phantom} phantom`;
    verified = `${verification.time} ${findings}`;
  }
  const seconds = table.lag.secondsSinceCheckpoint;
  return [
    table.table,
    String(table.chainLength),
    shortHash(table.headHash),
    shortHash(table.checkpoint?.rootHash ?? null),
    table.checkpoint === null ? "-" : String(table.checkpoint.size),
    `${formatBytes(table.lag.bytes)} / ${seconds === null ? "-" : `${seconds}s`}`,
    String(table.violations),
    verified,
  ];
}

function shortHash(hex: string | null): string {
  return hex === null ? "-" : `${hex.slice(0, HASH_HEX_SHOWN)}…`;
}

function formatBytes(bytes: number | null): string {
  if (bytes === null) return "-";
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KiB`;
  return `${(bytes / (1024 * 1024)).toFixed(1)} MiB`;
}

function alignColumns(rows: readonly string[][]): string[] {
  const widths: number[] = [];
  for (const row of rows) {
    row.forEach((cell, index) => {
      widths[index] = Math.max(widths[index] ?? 0, cell.length);
    });
  }
  return rows.map((row) =>
    row
      .map((cell, index) => (index === row.length - 1 ? cell : cell.padEnd(widths[index]!)))
      .join("  ")
      .trimEnd(),
  );
}

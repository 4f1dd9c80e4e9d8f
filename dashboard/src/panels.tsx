// The read-only panels: cluster topology, protected tables, alert timeline, witness verdicts.
import type {
  AlertEvent,
  ClusterView,
  TableSummary,
  VerificationSummary,
  WitnessVerdicts,
} from "../../src/dashboard/api.js";
import { formatBytes, formatTime, shortHash } from "./format.js";

function topologyTitle(cluster: ClusterView, witness: boolean): string {
  if (witness) return "This witness and the nodes that report to it";
  return cluster.term === null ? "Standalone node" : `Cluster, term ${cluster.term}`;
}

export function Topology({ cluster, witness }: { cluster: ClusterView; witness: boolean }) {
  return (
    <section className="panel" aria-labelledby="topology-title">
      <h2 id="topology-title">{topologyTitle(cluster, witness)}</h2>
      <ul className="nodes">
        {cluster.nodes.map((node) => (
          <li
            key={node.id}
            className={`node health-${node.health.state}`}
            data-testid={`node-${node.id}`}
          >
            <strong>{node.id}</strong>
            {node.isLeader ? <span className="badge leader">leader</span> : null}
            {node.self ? <span className="badge">this node</span> : null}
            <div>
              {node.role === "witness"
                ? "witness"
                : `${node.role} · ${node.state.replace("_", " ")}`}
            </div>
            <div className="health">{node.health.state.replace("_", " ")}</div>
            {node.health.reasons.map((reason) => (
              <div key={reason} className="reason">
                {reason}
              </div>
            ))}
          </li>
        ))}
      </ul>
    </section>
  );
}

function verificationText(verification: VerificationSummary | null): string {
  if (verification === null) return "never";
  const when = `${formatTime(verification.time)} by ${verification.node}`;
  if (verification.outcome === "clean") return `${when} ok, ${verification.rowsChecked} rows`;
  if (verification.outcome === "error") return `${when} failed: ${verification.error ?? "?"}`;
  return `${when} TAMPERED: ${verification.modified} modified, ${verification.deleted} deleted, ${verification.phantom} phantom`;
}

export function Tables({ tables, witness }: { tables: readonly TableSummary[]; witness: boolean }) {
  return (
    <section className="panel" aria-labelledby="tables-title">
      <h2 id="tables-title">
        {witness
          ? "Tables voted on (latest verdict, latest cosigned checkpoint)"
          : "Protected tables"}
      </h2>
      <table>
        <thead>
          <tr>
            <th>table</th>
            <th>chain</th>
            <th>root</th>
            <th>checkpoint</th>
            <th>lag</th>
            <th>violations</th>
            <th>last verification</th>
          </tr>
        </thead>
        <tbody>
          {tables.map((table) => (
            <tr key={table.table} data-testid={`table-${table.table}`}>
              <td>{table.table}</td>
              <td className="number">{table.chainLength}</td>
              <td className="hash" title={table.checkpoint?.rootHash ?? ""}>
                {shortHash(table.checkpoint?.rootHash ?? null)}
              </td>
              <td className="number">
                {table.checkpoint === null
                  ? "—"
                  : `${table.checkpoint.size} @ ${table.checkpoint.lsn}`}
              </td>
              <td>
                {formatBytes(table.lag.bytes)} / {table.lag.secondsSinceCheckpoint ?? "?"} s
              </td>
              <td className={(table.violations ?? 0) > 0 ? "number alarm" : "number"}>
                {table.violations ?? "—"}
              </td>
              <td
                className={
                  table.lastVerification !== null && !table.lastVerification.ok ? "alarm" : ""
                }
              >
                {verificationText(table.lastVerification)}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}

export function AlertTimeline({ alerts }: { alerts: readonly AlertEvent[] }) {
  return (
    <section className="panel" aria-labelledby="alerts-title">
      <h2 id="alerts-title">Alerts</h2>
      {alerts.length === 0 ? (
        <p className="quiet">No alerts.</p>
      ) : (
        <ol className="timeline" data-testid="alert-timeline">
          {alerts.map((alert) => (
            <li key={alert.id} className={`alert severity-${alert.severity}`}>
              <time dateTime={alert.time}>{formatTime(alert.time)}</time>
              <span className="badge">{alert.kind}</span>
              <span>{alert.message}</span>
              <span className="quiet"> · raised by {alert.reporters.join(", ")}</span>
            </li>
          ))}
        </ol>
      )}
    </section>
  );
}

export function Witnesses({ verdicts: { verdicts, unreachable } }: { verdicts: WitnessVerdicts }) {
  return (
    <section className="panel" aria-labelledby="witnesses-title">
      <h2 id="witnesses-title">Witness verdicts</h2>
      {unreachable.map(({ witness, error }) => (
        <p key={witness} className="alarm">
          witness {witness} did not answer: {error}
        </p>
      ))}
      {verdicts.length === 0 ? (
        <p className="quiet">No witness verdicts yet.</p>
      ) : (
        <table data-testid="witness-verdicts">
          <thead>
            <tr>
              <th>witness</th>
              <th>table</th>
              <th>size</th>
              <th>outcome</th>
              <th>majority root</th>
              <th>minority / missing</th>
              <th>cosigned</th>
            </tr>
          </thead>
          <tbody>
            {verdicts.map((verdict) => (
              <tr
                key={`${verdict.witness}/${verdict.table}`}
                data-testid={`verdict-${verdict.witness}-${verdict.table}`}
              >
                <td>{verdict.witness}</td>
                <td>{verdict.table}</td>
                <td className="number">{verdict.size}</td>
                <td className={verdict.outcome === "unanimous" ? "" : "alarm"}>
                  {verdict.outcome.replaceAll("_", " ")}
                </td>
                <td className="hash" title={verdict.rootHash ?? ""}>
                  {shortHash(verdict.rootHash)}
                </td>
                <td>{[...verdict.minority, ...verdict.missing].join(", ") || "—"}</td>
                <td>{verdict.cosigned ? "yes" : "no"}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

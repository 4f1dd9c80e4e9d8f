// The dashboard page: polls the node's API every POLL_INTERVAL_MS and shows what it answers.
import { type FormEvent, useCallback, useEffect, useState } from "react";
import type { AlertEvent, Overview, Series, WitnessVerdicts } from "../../src/dashboard/api.js";
import { ApiError, getApi, storedToken, storeToken } from "./api-client.js";
import { SeriesChart } from "./chart.js";
import { Explorer } from "./explorer.js";
import { formatTime } from "./format.js";
import { AlertTimeline, Tables, Topology, Witnesses } from "./panels.js";

const POLL_INTERVAL_MS = 2_000;

interface Snapshot {
  readonly overview: Overview;
  readonly alerts: readonly AlertEvent[];
  readonly verdicts: WitnessVerdicts;
  readonly series: Series;
}

function TokenForm({ onSaved }: { onSaved: () => void }) {
  const [token, setToken] = useState(storedToken() ?? "");
  const save = (event: FormEvent) => {
    event.preventDefault();
    storeToken(token);
    onSaved();
  };
  return (
    <form className="panel" onSubmit={save}>
      <p>This node answers its dashboard API on this address only with its access token.</p>
      <label>
        token{" "}
        <input type="password" value={token} onChange={(event) => setToken(event.target.value)} />
      </label>{" "}
      <button type="submit">Use token</button>
    </form>
  );
}

export function App() {
  const [snapshot, setSnapshot] = useState<Snapshot | null>(null);
  const [problem, setProblem] = useState<{ status: number; message: string } | null>(null);

  const refresh = useCallback(async () => {
    try {
      const [overview, alerts, witnesses, series] = await Promise.all([
        getApi("/api/v1/overview", {}),
        getApi("/api/v1/alerts", {}),
        getApi("/api/v1/witnesses", {}),
        getApi("/api/v1/series", {}),
      ]);
      setSnapshot({ overview, alerts: alerts.alerts, verdicts: witnesses, series });
      setProblem(null);
    } catch (error) {
      setProblem({
        status: error instanceof ApiError ? error.status : 0,
        message: error instanceof Error ? error.message : String(error),
      });
    }
  }, []);

  useEffect(() => {
    let stopped = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const loop = async () => {
      await refresh();
      if (!stopped) timer = setTimeout(loop, POLL_INTERVAL_MS);
    };
    void loop();
    return () => {
      stopped = true;
      clearTimeout(timer);
    };
  }, [refresh]);

  const witness = snapshot?.overview.node.role === "witness";
  const needsToken = problem !== null && (problem.status === 401 || problem.status === 403);
  return (
    <main>
      <header>
        <h1>Witnz</h1>
        {snapshot === null ? null : (
          <span className="quiet">
            {snapshot.overview.node.role} {snapshot.overview.node.id} · updated{" "}
            {formatTime(snapshot.overview.takenAt)} · {snapshot.overview.alertsPending} alerts
            awaiting delivery
          </span>
        )}
      </header>
      {problem === null ? null : (
        <p className="alarm" role="alert">
          {problem.message}
        </p>
      )}
      {needsToken ? <TokenForm onSaved={() => void refresh()} /> : null}
      {snapshot === null ? (
        <p className="quiet">Loading…</p>
      ) : (
        <>
          <Topology cluster={snapshot.overview.cluster} witness={witness} />
          <Tables tables={snapshot.overview.tables} witness={witness} />
          <div className="columns">
            <AlertTimeline alerts={snapshot.alerts} />
            {witness ? null : <SeriesChart series={snapshot.series} />}
          </div>
          <Witnesses verdicts={snapshot.verdicts} />
          {witness ? (
            <p className="quiet" data-testid="witness-note">
              This is a witness: it holds the nodes' checkpoint hashes only, never rows. Look
              entries up on a raft node's dashboard.
            </p>
          ) : (
            <Explorer
              tables={snapshot.overview.tables.map((table) => table.table)}
              verifierKey={snapshot.overview.node.verifierKey}
            />
          )}
        </>
      )}
    </main>
  );
}

// The demo's alert receiver: a local webhook endpoint that every node and witness posts to, and
// that prints each alert as it arrives. Alerts that repeat for every later checkpoint size (a
// lying node keeps disagreeing) are printed once per sender and table, then only counted.
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";

/** The JSON body of a Witnz webhook (docs/design/alerts.md). */
export interface ReceivedAlert {
  readonly id: string;
  readonly kind: string;
  readonly severity: string;
  readonly node: string;
  readonly table: string | null;
  readonly op: string | null;
  readonly pk: readonly (string | null)[] | null;
  readonly lsn: string | null;
  readonly detectedAt: string;
  readonly message: string;
}

/** Kinds raised once per checkpoint size: the first of each sender and table is printed. */
const PER_SIZE_KINDS = new Set([
  "tampering_detected",
  "no_majority",
  "incomplete_submission",
  "node_disagreement",
]);
const MESSAGE_SHOWN_MAX = 400;

export class AlertReceiver {
  readonly alerts: ReceivedAlert[] = [];
  /** Alerts received but not printed (repeats of a per-size kind). */
  repeats = 0;
  readonly #ids = new Set<string>();
  readonly #printed = new Set<string>();

  private constructor(
    private readonly server: Server,
    private readonly say: (line: string) => void,
  ) {}

  static async start(say: (line: string) => void): Promise<AlertReceiver> {
    const server = createServer();
    const receiver = new AlertReceiver(server, say);
    server.on("request", (request, response) => {
      const chunks: Buffer[] = [];
      request.on("data", (chunk: Buffer) => chunks.push(chunk));
      request.on("end", () => {
        response.writeHead(204).end();
        try {
          receiver.#receive(JSON.parse(Buffer.concat(chunks).toString("utf8")) as ReceivedAlert);
        } catch {
          // Not a Witnz webhook body: nothing to show.
        }
      });
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    return receiver;
  }

  get url(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/alerts`;
  }

  find(predicate: (alert: ReceivedAlert) => boolean): ReceivedAlert | undefined {
    return this.alerts.find(predicate);
  }

  filter(predicate: (alert: ReceivedAlert) => boolean): ReceivedAlert[] {
    return this.alerts.filter(predicate);
  }

  /** Alerts received per kind, e.g. `append_only_violation 3, replication_gap 2`. */
  countsByKind(): string {
    const counts = new Map<string, number>();
    for (const alert of this.alerts) counts.set(alert.kind, (counts.get(alert.kind) ?? 0) + 1);
    return [...counts].map(([kind, count]) => `${kind} ${count}`).join(", ");
  }

  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  #receive(alert: ReceivedAlert): void {
    // Delivery is at least once: a retry carries the same id.
    if (this.#ids.has(alert.id)) return;
    this.#ids.add(alert.id);
    this.alerts.push(alert);
    if (PER_SIZE_KINDS.has(alert.kind)) {
      const key = `${alert.kind}/${alert.node}/${alert.table ?? ""}`;
      if (this.#printed.has(key)) {
        this.repeats += 1;
        return;
      }
      this.#printed.add(key);
    }
    let message = alert.message.replace(/\s+/g, " ").trim();
    if (message.length > MESSAGE_SHOWN_MAX) message = `${message.slice(0, MESSAGE_SHOWN_MAX)}...`;
    this.say(`   >> ALERT ${alert.kind} (raised by ${alert.node}): ${message}`);
  }
}

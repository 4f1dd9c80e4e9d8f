import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import type { AddressInfo } from "node:net";

export interface ReceivedRequest {
  readonly method: string;
  readonly path: string;
  readonly headers: IncomingHttpHeaders;
  /** The raw body bytes as received. */
  readonly body: Buffer;
  readonly receivedAtMs: number;
}

/** How the receiver answers: a status, or never (to exercise timeouts). */
export type Answer = { status: number } | "hang";

/** A real HTTP server on 127.0.0.1 that records every request it gets. */
export class Receiver {
  readonly requests: ReceivedRequest[] = [];
  answer: Answer = { status: 200 };
  #server: Server | undefined;
  #port = 0;
  #waiters: Array<{ count: number; resolve: () => void }> = [];
  readonly #hanging = new Set<() => void>();

  get url(): string {
    return `http://127.0.0.1:${this.#port}/hook`;
  }

  /** Every webhook body received so far, parsed as JSON. */
  bodies(): Record<string, unknown>[] {
    return this.requests.map(
      (request) => JSON.parse(request.body.toString("utf8")) as Record<string, unknown>,
    );
  }

  /** Listens on `port` (0: an ephemeral port, kept for later restarts). */
  async listen(port = this.#port): Promise<void> {
    const server = createServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on("data", (chunk: Buffer) => chunks.push(chunk));
      request.on("end", () => {
        this.requests.push({
          method: request.method ?? "",
          path: request.url ?? "",
          headers: request.headers,
          body: Buffer.concat(chunks),
          receivedAtMs: performance.now(),
        });
        for (const waiter of this.#waiters.filter((w) => this.requests.length >= w.count)) {
          waiter.resolve();
        }
        this.#waiters = this.#waiters.filter((w) => this.requests.length < w.count);
        const answer = this.answer;
        if (answer === "hang") {
          const release = () => response.destroy();
          this.#hanging.add(release);
          return;
        }
        response.writeHead(answer.status, { "content-type": "text/plain" });
        response.end(answer.status < 300 ? "ok" : "refused");
      });
    });
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(port, "127.0.0.1", () => resolve());
    });
    this.#server = server;
    this.#port = (server.address() as AddressInfo).port;
  }

  /** Resolves once `count` requests arrived in all. */
  received(count: number): Promise<void> {
    if (this.requests.length >= count) return Promise.resolve();
    return new Promise((resolve) => this.#waiters.push({ count, resolve }));
  }

  async close(): Promise<void> {
    for (const release of this.#hanging) release();
    this.#hanging.clear();
    const server = this.#server;
    this.#server = undefined;
    if (server === undefined) return;
    server.closeAllConnections();
    await new Promise<void>((resolve, reject) =>
      server.close((error) => (error ? reject(error) : resolve())),
    );
  }
}

// The demo's application: one row into each protected table every WRITE_INTERVAL_MS, until
// stopped. It can pause (while a node is down and its slot is gone, see steps.ts).
import type pg from "pg";

export const TABLES = ["public.audit_log", "public.payments"] as const;
export const WRITE_INTERVAL_MS = 100;

export async function createTables(client: pg.Client): Promise<void> {
  await client.query(`CREATE TABLE public.audit_log (
      id bigserial PRIMARY KEY, actor text NOT NULL, action text NOT NULL,
      at timestamptz NOT NULL DEFAULT now())`);
  await client.query(`CREATE TABLE public.payments (
      id bigserial PRIMARY KEY, account text NOT NULL, amount numeric(12,2) NOT NULL,
      at timestamptz NOT NULL DEFAULT now())`);
}

export class Writer {
  /** Rows inserted per table. */
  readonly inserted = new Map<string, number>(TABLES.map((table) => [table, 0]));
  /** Why the writer stopped early (the database went away), if it did. */
  error: string | undefined;
  #paused = false;
  #stopped = false;
  #inFlight: Promise<void> = Promise.resolve();
  #loop: Promise<void> = Promise.resolve();
  #wake: (() => void) | undefined;

  constructor(private readonly client: pg.Client) {}

  get rowsWritten(): number {
    return [...this.inserted.values()].reduce((sum, count) => sum + count, 0);
  }

  start(): void {
    this.#loop = this.#run();
  }

  /** Resolves once no insert is in flight; none starts until resume(). */
  async pause(): Promise<void> {
    this.#paused = true;
    await this.#inFlight;
  }

  resume(): void {
    this.#paused = false;
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    this.#wake?.();
    await this.#loop;
  }

  async #run(): Promise<void> {
    while (!this.#stopped) {
      if (!this.#paused) {
        this.#inFlight = this.#insertOne();
        await this.#inFlight;
      }
      await new Promise<void>((resolve) => {
        this.#wake = resolve;
        setTimeout(resolve, WRITE_INTERVAL_MS);
      });
    }
  }

  async #insertOne(): Promise<void> {
    try {
      const n = this.rowsWritten;
      await this.client.query("INSERT INTO public.audit_log (actor, action) VALUES ($1, 'login')", [
        `user-${n % 17}`,
      ]);
      this.inserted.set("public.audit_log", this.inserted.get("public.audit_log")! + 1);
      await this.client.query("INSERT INTO public.payments (account, amount) VALUES ($1, $2)", [
        `acct-${n % 5}`,
        ((n + 1) * 3.25).toFixed(2),
      ]);
      this.inserted.set("public.payments", this.inserted.get("public.payments")! + 1);
    } catch (error) {
      this.error = error instanceof Error ? error.message : String(error);
      this.#stopped = true;
    }
  }
}

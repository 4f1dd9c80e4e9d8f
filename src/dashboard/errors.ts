export type DashboardErrorCode =
  /** A query the API cannot answer: a missing table, a sequence number that is not one. */
  | "WITNZ_DASHBOARD_QUERY"
  /** The built browser app is not where the server looks for it. */
  | "WITNZ_DASHBOARD_ASSETS";

export class DashboardError extends Error {
  readonly code: DashboardErrorCode;
  constructor(code: DashboardErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "DashboardError";
    this.code = code;
  }
}

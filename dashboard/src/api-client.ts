// The typed client of the node's dashboard API: the route table in src/dashboard/api.ts fixes
// each route's query and answer, for this app and the server alike.
import {
  type ApiProblem,
  DASHBOARD_AUTHORIZATION_SCHEME,
  type DashboardRoute,
  type DashboardRoutes,
  queryParameters,
} from "../../src/dashboard/api.js";

const TOKEN_STORAGE_KEY = "witnz-dashboard-token";

export class ApiError extends Error {
  readonly status: number;
  constructor(status: number, message: string) {
    super(message);
    this.name = "ApiError";
    this.status = status;
  }
}

export function storedToken(): string | null {
  return sessionStorage.getItem(TOKEN_STORAGE_KEY);
}

export function storeToken(token: string | null): void {
  if (token === null || token === "") sessionStorage.removeItem(TOKEN_STORAGE_KEY);
  else sessionStorage.setItem(TOKEN_STORAGE_KEY, token);
}

export async function getApi<Route extends DashboardRoute>(
  route: Route,
  query: DashboardRoutes[Route]["query"],
): Promise<DashboardRoutes[Route]["response"]> {
  const search = new URLSearchParams(queryParameters<Route>(query)).toString();
  // The app is served at the node's root; the API lives beside it.
  const url = new URL(`.${route}${search === "" ? "" : `?${search}`}`, document.baseURI);
  const token = storedToken();
  const headers: Record<string, string> = { accept: "application/json" };
  if (token !== null) headers.authorization = `${DASHBOARD_AUTHORIZATION_SCHEME} ${token}`;
  const response = await fetch(url, { headers });
  if (!response.ok) {
    let message = `HTTP ${response.status}`;
    try {
      message = ((await response.json()) as ApiProblem).message;
    } catch {
      // Not one of the API's answers; the status says enough.
    }
    throw new ApiError(response.status, message);
  }
  return (await response.json()) as DashboardRoutes[Route]["response"];
}

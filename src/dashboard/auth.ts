// Who may read the dashboard API: anyone connecting from this machine (a loopback address), and
// anyone else who presents `Authorization: Bearer <token>` with the configured token. Without a
// token the API is loopback-only. The peer address is the socket's, never a forwarded header.

import { createHash, timingSafeEqual } from "node:crypto";
import { DASHBOARD_AUTHORIZATION_SCHEME } from "./api.js";

export type AccessDecision =
  | { readonly allowed: true }
  | { readonly allowed: false; readonly status: 401 | 403; readonly message: string };

/** 127.0.0.0/8, ::1, and IPv4 loopback mapped into IPv6. */
export function isLoopbackAddress(address: string | undefined): boolean {
  if (address === undefined) return false;
  const v4 = address.startsWith("::ffff:") ? address.slice("::ffff:".length) : address;
  return /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(v4) || address === "::1";
}

function digest(text: string): Buffer {
  return createHash("sha256").update(text, "utf8").digest();
}

export function decideAccess(
  remoteAddress: string | undefined,
  authorization: string | undefined,
  token: string | undefined,
): AccessDecision {
  if (isLoopbackAddress(remoteAddress)) return { allowed: true };
  if (token === undefined || token.length === 0) {
    return {
      allowed: false,
      status: 403,
      message: "the dashboard API answers loopback addresses only unless a token is configured",
    };
  }
  const prefix = `${DASHBOARD_AUTHORIZATION_SCHEME} `;
  if (authorization === undefined || !authorization.startsWith(prefix)) {
    return { allowed: false, status: 401, message: `send Authorization: ${prefix}<token>` };
  }
  // Compared as digests: equal lengths, and the time taken says nothing about the token.
  if (!timingSafeEqual(digest(authorization.slice(prefix.length)), digest(token))) {
    return { allowed: false, status: 401, message: "the token is not the dashboard's" };
  }
  return { allowed: true };
}

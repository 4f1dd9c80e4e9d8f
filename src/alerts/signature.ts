import { createHmac, timingSafeEqual } from "node:crypto";

/** The header carrying `sha256=<hex HMAC-SHA256 of the raw body>`. */
export const SIGNATURE_HEADER = "X-Witnz-Signature";
/** The header carrying the send time in Unix seconds (informational; not signed). */
export const TIMESTAMP_HEADER = "X-Witnz-Timestamp";
const SIGNATURE_PREFIX = "sha256=";

/** `sha256=` followed by the lower-case hex HMAC-SHA256 of `body` under `secret`. */
export function signWebhookBody(secret: string, body: string | Uint8Array): string {
  return SIGNATURE_PREFIX + createHmac("sha256", secret).update(body).digest("hex");
}

/** What a receiver does: recompute the signature of the raw body and compare in constant time. */
export function verifyWebhookSignature(
  secret: string,
  body: string | Uint8Array,
  header: string | undefined,
): boolean {
  if (header === undefined) return false;
  const expected = Buffer.from(signWebhookBody(secret, body), "utf8");
  const given = Buffer.from(header, "utf8");
  return expected.length === given.length && timingSafeEqual(expected, given);
}

import type { AlertsConfig } from "../config/index.js";
import { type Alert, alertSummary, webhookBodyText } from "./alert.js";
import { AlertError, alertAssert } from "./errors.js";
import { SIGNATURE_HEADER, signWebhookBody, TIMESTAMP_HEADER } from "./signature.js";

/** Each request to a sink gives up after this long unless told otherwise. */
export const SINK_REQUEST_TIMEOUT_MS_DEFAULT = 5_000;
const SINK_REQUEST_TIMEOUT_MS_MAX = 60_000;
/** Bytes of a rejecting sink's answer quoted in the error. */
const SINK_ANSWER_CHARACTERS_MAX = 200;

/** Somewhere alerts go. `deliver` resolves once the sink accepted the alert, or throws. */
export interface AlertSink {
  /** Stable across restarts: the outbox keeps delivery state under it. */
  readonly name: string;
  /** Throws an AlertError; its message never contains the sink's URL or secret. */
  deliver(alert: Alert): Promise<void>;
}

export interface WebhookSinkOptions {
  readonly url: string;
  /** When set, each request carries X-Witnz-Signature over the raw body. */
  readonly secret?: string | undefined;
  readonly name?: string;
  readonly requestTimeoutMs?: number;
  /** Wall-clock milliseconds since 1970, for the timestamp header. */
  readonly clock?: () => number;
}

/** A generic webhook: POST of the JSON body, signed when a secret is set. */
export function createWebhookSink(options: WebhookSinkOptions): AlertSink {
  const clock = options.clock ?? Date.now;
  const secret = options.secret;
  return httpSink(options.name ?? "webhook", options.url, options.requestTimeoutMs, (alert) => {
    const body = webhookBodyText(alert);
    const headers: Record<string, string> = { "content-type": "application/json" };
    headers[TIMESTAMP_HEADER] = String(Math.floor(clock() / 1000));
    if (secret !== undefined) headers[SIGNATURE_HEADER] = signWebhookBody(secret, body);
    return { body, headers };
  });
}

export interface SlackSinkOptions {
  readonly url: string;
  readonly name?: string;
  readonly requestTimeoutMs?: number;
}

/** A Slack incoming webhook: `{"text": "<one-line summary>"}`. */
export function createSlackSink(options: SlackSinkOptions): AlertSink {
  return httpSink(options.name ?? "slack", options.url, options.requestTimeoutMs, (alert) => ({
    body: JSON.stringify({ text: slackText(alert) }),
    headers: { "content-type": "application/json" },
  }));
}

/** The summary with Slack's three control characters escaped, as its API asks. */
export function slackText(alert: Alert): string {
  return alertSummary(alert).replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

/** The sinks `alerts:` configures, in a fixed order; none when alerts are disabled. */
export function createAlertSinks(
  config: AlertsConfig,
  options: { requestTimeoutMs?: number; clock?: () => number } = {},
): AlertSink[] {
  if (!config.enabled) return [];
  const sinks: AlertSink[] = [];
  if (config.webhook !== undefined) {
    sinks.push(
      createWebhookSink({
        url: config.webhook.url,
        secret: config.webhook.secret,
        ...(options.requestTimeoutMs === undefined
          ? {}
          : { requestTimeoutMs: options.requestTimeoutMs }),
        ...(options.clock === undefined ? {} : { clock: options.clock }),
      }),
    );
  }
  if (config.slackWebhook !== undefined) {
    sinks.push(
      createSlackSink({
        url: config.slackWebhook,
        ...(options.requestTimeoutMs === undefined
          ? {}
          : { requestTimeoutMs: options.requestTimeoutMs }),
      }),
    );
  }
  return sinks;
}

function httpSink(
  name: string,
  url: string,
  requestTimeoutMs: number = SINK_REQUEST_TIMEOUT_MS_DEFAULT,
  request: (alert: Alert) => { body: string; headers: Record<string, string> },
): AlertSink {
  alertAssert(/^https?:\/\//.test(url), () => `sink ${name} needs an http or https URL`);
  alertAssert(
    Number.isInteger(requestTimeoutMs) &&
      requestTimeoutMs >= 1 &&
      requestTimeoutMs <= SINK_REQUEST_TIMEOUT_MS_MAX,
    () => `a sink's request timeout runs from 1 to ${SINK_REQUEST_TIMEOUT_MS_MAX} ms`,
  );
  return {
    name,
    async deliver(alert: Alert): Promise<void> {
      const { body, headers } = request(alert);
      let response: Response;
      try {
        response = await fetch(url, {
          method: "POST",
          headers,
          body,
          redirect: "manual",
          signal: AbortSignal.timeout(requestTimeoutMs),
        });
      } catch (error) {
        throw requestError(name, requestTimeoutMs, error);
      }
      let answer = "";
      try {
        answer = (await response.text()).slice(0, SINK_ANSWER_CHARACTERS_MAX);
      } catch (error) {
        if (response.ok) throw requestError(name, requestTimeoutMs, error);
      }
      if (!response.ok) {
        throw new AlertError(
          "WITNZ_ALERT_REJECTED",
          `sink ${name} answered HTTP ${response.status}${answer === "" ? "" : `: ${answer.replace(/\s+/g, " ")}`}`,
        );
      }
    },
  };
}

function requestError(name: string, requestTimeoutMs: number, error: unknown): AlertError {
  const timedOut =
    error instanceof Error && (error.name === "TimeoutError" || error.name === "AbortError");
  if (timedOut) {
    return new AlertError(
      "WITNZ_ALERT_TIMEOUT",
      `sink ${name} did not answer within ${requestTimeoutMs} ms`,
      { cause: error },
    );
  }
  const cause = error instanceof Error && error.cause instanceof Error ? error.cause : error;
  const detail =
    cause instanceof Error
      ? ((cause as NodeJS.ErrnoException).code ?? cause.message)
      : String(cause);
  return new AlertError("WITNZ_ALERT_UNREACHABLE", `sink ${name} is unreachable: ${detail}`, {
    cause: error,
  });
}

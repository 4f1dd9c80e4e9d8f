// Alert delivery: the durable outbox (in the store) drained to webhook and Slack sinks.
export {
  type Alert,
  AlertKind,
  type AlertSeverity,
  alertSummary,
  type WebhookBody,
  webhookBody,
  webhookBodyText,
} from "./alert.js";
export {
  ALERTS_PER_PASS_MAX_DEFAULT,
  type AlertDeliveryEvent,
  AlertDispatcher,
  type AlertDispatcherOptions,
  type AlertPassResult,
  IDLE_POLL_MS_DEFAULT,
  PASS_ERROR_DELAY_MS_DEFAULT,
} from "./dispatcher.js";
export { AlertError, type AlertErrorCode } from "./errors.js";
export { RETRY_POLICY_DEFAULT, type RetryPolicy, retryDelayMs } from "./retry.js";
export {
  SIGNATURE_HEADER,
  signWebhookBody,
  TIMESTAMP_HEADER,
  verifyWebhookSignature,
} from "./signature.js";
export {
  type AlertSink,
  createAlertSinks,
  createSlackSink,
  createWebhookSink,
  SINK_REQUEST_TIMEOUT_MS_DEFAULT,
  type SlackSinkOptions,
  slackText,
  type WebhookSinkOptions,
} from "./sinks.js";

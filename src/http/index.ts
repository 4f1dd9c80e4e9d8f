// The node's HTTP surface (health, readiness, Prometheus metrics) and the metrics it exports.
export { HttpError, type HttpErrorCode } from "./errors.js";
export {
  type AlertMetrics,
  countAlertDelivery,
  createAlertMetrics,
  createNodeMetrics,
  type NodeMetrics,
  type NodeMetricsOptions,
  type VerificationOutcome,
} from "./metrics.js";
export {
  type HttpServer,
  type HttpServerOptions,
  type Readiness,
  startHttpServer,
} from "./server.js";

export { DemoError, type DemoOptions, runDemo } from "./demo.js";
export type { Detection } from "./steps.js";
export { type DemoSummary, formatDemoSummary } from "./summary.js";

export { type DemoOptions, type DemoSummary, runDemo } from "./demo.js";

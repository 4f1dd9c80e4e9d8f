export {
  CHECK_WINDOW_ENTRIES_DEFAULT,
  CHECK_WINDOW_ENTRIES_MAX,
  type CheckStoreOptions,
  checkStore,
  type IntegrityProgress,
} from "./check-store.js";
export {
  formatIntegrityReport,
  type IntegrityProblem,
  type IntegrityProblemKind,
  type IntegrityReport,
  type TableIntegrity,
} from "./report.js";

// The incident the state machine records for a node disagreement, and the pure pieces it needs:
// its message and its detection time as ISO 8601 text computed from microseconds (no clock).
import type { ReplicatedAlert } from "./commands.js";
import { CLUSTER_REPORTER, type DisagreementRecord } from "./state.js";

/** The one-line message of a disagreement's alert. */
export function disagreementMessage(record: DisagreementRecord): string {
  const odd = record.oddNodes.length === 0 ? "nobody named" : record.oddNodes.join(", ");
  return (
    `nodes disagree on ${record.table} at size ${record.size} (${record.outcome}); ` +
    `odd node(s) out: ${odd}`
  );
}

const MILLISECONDS_PER_DAY = 86_400_000;
const pad = (value: number, width: number): string => String(value).padStart(width, "0");

/**
 * Microseconds since the Unix epoch (a non-negative safe integer) as UTC ISO 8601 text with
 * millisecond precision, `YYYY-MM-DDTHH:MM:SS.sssZ`, exactly as toISOString writes it (the
 * sub-millisecond part is dropped). 2^53 - 1 microseconds is in the year 2255, so the year always
 * has four digits. Civil date from days after Howard Hinnant's `civil_from_days`.
 */
export function isoFromUnixMicroseconds(microseconds: number): string {
  if (!Number.isSafeInteger(microseconds) || microseconds < 0) {
    throw new RangeError(`${microseconds} is not a non-negative safe integer`);
  }
  const milliseconds = Math.floor(microseconds / 1000);
  const days = Math.floor(milliseconds / MILLISECONDS_PER_DAY);
  let rest = milliseconds - days * MILLISECONDS_PER_DAY;
  // Days from 0000-03-01; eras of 400 years (146097 days) starting on March 1st.
  const z = days + 719_468;
  const era = Math.floor(z / 146_097);
  const dayOfEra = z - era * 146_097;
  const yearOfEra = Math.floor(
    (dayOfEra -
      Math.floor(dayOfEra / 1460) +
      Math.floor(dayOfEra / 36_524) -
      Math.floor(dayOfEra / 146_096)) /
      365,
  );
  const dayOfYear =
    dayOfEra - (365 * yearOfEra + Math.floor(yearOfEra / 4) - Math.floor(yearOfEra / 100));
  const shiftedMonth = Math.floor((5 * dayOfYear + 2) / 153);
  const day = dayOfYear - Math.floor((153 * shiftedMonth + 2) / 5) + 1;
  const month = shiftedMonth < 10 ? shiftedMonth + 3 : shiftedMonth - 9;
  const year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0);
  const hours = Math.floor(rest / 3_600_000);
  rest -= hours * 3_600_000;
  const minutes = Math.floor(rest / 60_000);
  rest -= minutes * 60_000;
  const seconds = Math.floor(rest / 1000);
  const millis = rest - seconds * 1000;
  return (
    `${pad(year, 4)}-${pad(month, 2)}-${pad(day, 2)}T` +
    `${pad(hours, 2)}:${pad(minutes, 2)}:${pad(seconds, 2)}.${pad(millis, 3)}Z`
  );
}

/**
 * The incident of a disagreement: id its incident id, kind `node_disagreement`, severity
 * `critical`, node `cluster`, its table, the majority value's LSN when there is a majority, and
 * detected at the latest observation time held at that size.
 */
export function disagreementAlert(
  record: DisagreementRecord,
  majorityLsn: string | undefined,
  latestObservationMicroseconds: number,
): ReplicatedAlert {
  return {
    id: record.incidentId,
    kind: "node_disagreement",
    severity: "critical",
    node: CLUSTER_REPORTER,
    table: record.table,
    ...(majorityLsn === undefined ? {} : { lsn: majorityLsn }),
    detectedAt: isoFromUnixMicroseconds(latestObservationMicroseconds),
    message: disagreementMessage(record),
  };
}

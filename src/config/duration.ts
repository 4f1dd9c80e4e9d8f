import { ConfigError } from "./errors.js";

// Grammar: one or more <digits><unit>, units from ms, s, m, h, d, each at most once and larger
// units first ("1h30m", "2d", "500ms"). No spaces, signs, fractions or bare numbers.
const UNITS_LARGEST_FIRST = [
  { unit: "d", milliseconds: 86_400_000 },
  { unit: "h", milliseconds: 3_600_000 },
  { unit: "m", milliseconds: 60_000 },
  { unit: "s", milliseconds: 1_000 },
  { unit: "ms", milliseconds: 1 },
] as const;

const TERM = /(\d+)(ms|d|h|m|s)/y;
const BARE_NUMBER = /^\d+$/;
const EXAMPLES = 'write e.g. "30m", "10s", "1h30m"';

export type DurationResult =
  | { readonly ok: true; readonly milliseconds: number }
  | { readonly ok: false; readonly shown: string; readonly message: string };

/** Parses a duration to milliseconds, or says what is wrong with it without throwing. */
export function readDuration(text: string): DurationResult {
  const shown = JSON.stringify(text);
  if (BARE_NUMBER.test(text)) {
    return { ok: false, shown: text, message: `has no unit; write a unit, e.g. "${text}s"` };
  }
  let milliseconds = 0;
  let previousRank = -1;
  let position = 0;
  while (position < text.length) {
    TERM.lastIndex = position;
    const match = TERM.exec(text);
    if (match === null) return { ok: false, shown, message: `is not a duration; ${EXAMPLES}` };
    const [, digits, unit] = match as unknown as [string, string, string];
    const rank = UNITS_LARGEST_FIRST.findIndex((entry) => entry.unit === unit);
    if (rank <= previousRank) {
      return {
        ok: false,
        shown,
        message: 'is not a duration; write each unit once, larger units first, e.g. "1h30m"',
      };
    }
    previousRank = rank;
    milliseconds += Number(digits) * UNITS_LARGEST_FIRST[rank]!.milliseconds;
    position = TERM.lastIndex;
  }
  if (position === 0) return { ok: false, shown, message: `is not a duration; ${EXAMPLES}` };
  if (!Number.isSafeInteger(milliseconds)) {
    return { ok: false, shown, message: "is too long a duration" };
  }
  return { ok: true, milliseconds };
}

/**
 * Parses "30m", "10s", "500ms", "1h30m", "2d" to milliseconds. Throws a ConfigError
 * (WITNZ_CONFIG_INVALID) whose one problem says what is wrong.
 */
export function parseDuration(text: string): number {
  const result = readDuration(text);
  if (result.ok) return result.milliseconds;
  throw new ConfigError("WITNZ_CONFIG_INVALID", "duration", [`${result.shown} ${result.message}`]);
}

/** The shortest duration text for a whole number of milliseconds: 5400000 -> "1h30m". */
export function formatDuration(milliseconds: number): string {
  if (!Number.isSafeInteger(milliseconds) || milliseconds < 0) {
    throw new RangeError(`a duration is a whole, non-negative number of ms, got ${milliseconds}`);
  }
  if (milliseconds === 0) return "0ms";
  let remaining = milliseconds;
  let text = "";
  for (const { unit, milliseconds: unitMilliseconds } of UNITS_LARGEST_FIRST) {
    const count = Math.floor(remaining / unitMilliseconds);
    if (count > 0) {
      text += `${count}${unit}`;
      remaining -= count * unitMilliseconds;
    }
  }
  return text;
}

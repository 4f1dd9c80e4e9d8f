// Small helpers every benchmark shares.
import { pathToFileURL } from "node:url";

/** Nearest rank on an ascending list (0 for an empty one). */
export function percentile(sorted: readonly number[], fraction: number): number {
  if (sorted.length === 0) return 0;
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil(fraction * sorted.length)));
  return sorted[rank - 1]!;
}

export function round(value: number, digits = 1): number {
  const scale = 10 ** digits;
  return Math.round(value * scale) / scale;
}

/**
 * Command-line options of a benchmark: `--flag=N` sets the option `flags[flag]`, `--quick` sets
 * the `quick` values; anything else is refused, naming the choices.
 */
export function benchArguments<Key extends string>(
  argv: readonly string[],
  flags: Readonly<Record<string, Key>>,
  quick?: Readonly<Partial<Record<Key, number>>>,
): Partial<Record<Key, number>> {
  const options: Partial<Record<Key, number>> = {};
  for (const argument of argv) {
    if (argument === "--quick" && quick !== undefined) {
      Object.assign(options, quick);
      continue;
    }
    const match = /^--([a-z-]+)=(\d+)$/.exec(argument);
    const key = match === null ? undefined : flags[match[1]!];
    if (match === null || key === undefined) {
      const choices = [
        ...(quick === undefined ? [] : ["--quick"]),
        ...Object.keys(flags).map((flag) => `--${flag}=N`),
      ];
      throw new Error(`unknown argument ${argument}; try ${choices.join(", ")}`);
    }
    options[key] = Number(match[2]);
  }
  return options;
}

/** Runs the benchmark and prints its JSON when the module is the program being run. */
export async function runWhenMain(
  moduleUrl: string,
  bench: (argv: readonly string[]) => Promise<unknown>,
): Promise<void> {
  const invokedPath = process.argv[1];
  if (invokedPath === undefined || moduleUrl !== pathToFileURL(invokedPath).href) return;
  console.log(JSON.stringify(await bench(process.argv.slice(2)), null, 2));
}

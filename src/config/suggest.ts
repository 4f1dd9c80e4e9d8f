/** Optimal string alignment distance: insertions, deletions, substitutions, transpositions. */
function editDistance(left: string, right: string): number {
  const rows = left.length + 1;
  const columns = right.length + 1;
  const distance: number[] = new Array(rows * columns).fill(0);
  const at = (row: number, column: number): number => distance[row * columns + column]!;
  for (let row = 0; row < rows; row += 1) distance[row * columns] = row;
  for (let column = 0; column < columns; column += 1) distance[column] = column;
  for (let row = 1; row < rows; row += 1) {
    for (let column = 1; column < columns; column += 1) {
      const cost = left[row - 1] === right[column - 1] ? 0 : 1;
      let best = Math.min(
        at(row - 1, column) + 1,
        at(row, column - 1) + 1,
        at(row - 1, column - 1) + cost,
      );
      if (
        row > 1 &&
        column > 1 &&
        left[row - 1] === right[column - 2] &&
        left[row - 2] === right[column - 1]
      ) {
        best = Math.min(best, at(row - 2, column - 2) + 1);
      }
      distance[row * columns + column] = best;
    }
  }
  return at(rows - 1, columns - 1);
}

const DISTANCE_MAX = 2;

function loosely(name: string): string {
  return name.toLowerCase().replaceAll(/[_-]/g, "");
}

/**
 * The candidate closest to `name`: the same name in another case or separator style
 * (bindAddr, BIND-ADDR), else the nearest by edit distance when it is at most 2 and at most a
 * third of the longer name. Undefined when nothing is close.
 */
export function closestName(name: string, candidates: Iterable<string>): string | undefined {
  let best: string | undefined;
  let bestDistance = Number.POSITIVE_INFINITY;
  for (const candidate of candidates) {
    if (loosely(candidate) === loosely(name)) return candidate;
    const distance = editDistance(name, candidate);
    const allowed = Math.min(DISTANCE_MAX, Math.floor(Math.max(name.length, candidate.length) / 3));
    if (distance <= allowed && distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  return best;
}

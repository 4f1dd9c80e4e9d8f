// A binary min-heap ordered by (time, sequence): equal times leave in insertion order, which
// keeps a simulation deterministic.

interface Item<T> {
  readonly time: number;
  readonly sequence: number;
  readonly value: T;
}

export class PriorityQueue<T> {
  private readonly items: Item<T>[] = [];
  private sequence = 0;

  get size(): number {
    return this.items.length;
  }

  push(time: number, value: T): void {
    this.items.push({ time, sequence: this.sequence++, value });
    let child = this.items.length - 1;
    while (child > 0) {
      const parent = (child - 1) >> 1;
      if (!this.before(child, parent)) break;
      this.swap(child, parent);
      child = parent;
    }
  }

  /** The earliest item's time, or Infinity when empty. */
  peekTime(): number {
    return this.items[0]?.time ?? Number.POSITIVE_INFINITY;
  }

  pop(): T | undefined {
    const top = this.items[0];
    if (top === undefined) return undefined;
    const last = this.items.pop()!;
    if (this.items.length > 0) {
      this.items[0] = last;
      let parent = 0;
      for (;;) {
        const left = 2 * parent + 1;
        const right = left + 1;
        let smallest = parent;
        if (left < this.items.length && this.before(left, smallest)) smallest = left;
        if (right < this.items.length && this.before(right, smallest)) smallest = right;
        if (smallest === parent) break;
        this.swap(parent, smallest);
        parent = smallest;
      }
    }
    return top.value;
  }

  clear(): void {
    this.items.length = 0;
  }

  private before(a: number, b: number): boolean {
    const x = this.items[a]!;
    const y = this.items[b]!;
    return x.time < y.time || (x.time === y.time && x.sequence < y.sequence);
  }

  private swap(a: number, b: number): void {
    const x = this.items[a]!;
    this.items[a] = this.items[b]!;
    this.items[b] = x;
  }
}

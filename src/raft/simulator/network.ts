// The simulated network: every message is delayed by a random number of steps (which reorders
// them), may be dropped or duplicated, and is lost if its link is cut when it is sent or when it
// would arrive. Links are directed, so a partition can be symmetric or one-way.
import type { Message, NodeId, SeededRandom } from "../index.js";
import { PriorityQueue } from "./priority-queue.js";

export interface NetworkFaults {
  dropProbability: number;
  duplicateProbability: number;
  delayStepsMin: number;
  delayStepsMax: number;
}

/** Messages in flight are bounded: past this, new messages are dropped, as a full socket would. */
export const MESSAGES_IN_FLIGHT_MAX = 20_000;

export class SimulatedNetwork {
  private readonly inFlight = new PriorityQueue<Message>();
  private readonly cutLinks = new Set<string>();
  faults: NetworkFaults;
  sentCount = 0;
  droppedCount = 0;

  constructor(
    private readonly random: SeededRandom,
    faults: NetworkFaults,
  ) {
    this.faults = faults;
  }

  send(message: Message, nowStep: number): void {
    this.sentCount++;
    const copies = this.random.chance(this.faults.duplicateProbability) ? 2 : 1;
    for (let copy = 0; copy < copies; copy++) {
      if (
        this.isCut(message.from, message.to) ||
        this.random.chance(this.faults.dropProbability) ||
        this.inFlight.size >= MESSAGES_IN_FLIGHT_MAX
      ) {
        this.droppedCount++;
        continue;
      }
      const delay = this.random.nextIntBetween(
        this.faults.delayStepsMin,
        this.faults.delayStepsMax,
      );
      this.inFlight.push(nowStep + delay, message);
    }
  }

  /** Messages due by `nowStep` whose link is still up, in delivery order. */
  deliverDue(nowStep: number): Message[] {
    const due: Message[] = [];
    while (this.inFlight.peekTime() <= nowStep) {
      const message = this.inFlight.pop()!;
      if (this.isCut(message.from, message.to)) this.droppedCount++;
      else due.push(message);
    }
    return due;
  }

  cut(from: NodeId, to: NodeId): void {
    this.cutLinks.add(`${from}>${to}`);
  }

  isCut(from: NodeId, to: NodeId): boolean {
    return this.cutLinks.size > 0 && this.cutLinks.has(`${from}>${to}`);
  }

  healAll(): void {
    this.cutLinks.clear();
  }

  cutLinkCount(): number {
    return this.cutLinks.size;
  }
}

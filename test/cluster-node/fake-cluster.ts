// Cluster nodes over a fake Raft: one shared log, applied to every node's state machine in order
// as soon as the leader appends it. Stores are in memory and filled by hand like capture does.
import type { CommittedBatch } from "../../src/capture/index.js";
import {
  formatVerifierKey,
  noteVerifier,
  SIGNATURE_TYPE_ED25519,
} from "../../src/checkpoint/index.js";
import { ClusterNode, type ClusterRaft } from "../../src/cluster-node/index.js";
import { generateEd25519KeyPair } from "../../src/crypto/index.js";
import { chainHash, dataHash, GENESIS_CHAIN_HASH } from "../../src/hash/index.js";
import { MerkleTree } from "../../src/merkle/index.js";
import { toLogIndex, toTerm } from "../../src/raft/index.js";
import { openMemoryStore, type WitnzStore } from "../../src/store/index.js";

export const ORIGIN = "witnz/test";
export const TABLE = "public.audit_log";

export interface FakeMember {
  readonly id: string;
  readonly store: WitnzStore;
  readonly node: ClusterNode;
  readonly errors: unknown[];
}

export class FakeRaft {
  readonly #members: FakeMember[] = [];
  readonly #applied: Uint8Array[] = [];
  leaderId: string;

  constructor(leaderId: string) {
    this.leaderId = leaderId;
  }

  add(member: FakeMember): void {
    this.#members.push(member);
  }

  get log(): readonly Uint8Array[] {
    return this.#applied;
  }

  handle(id: string): ClusterRaft {
    return {
      apply: async (data) => this.#append(id, data),
      state: () => (id === this.leaderId ? "leader" : "follower"),
      leader: () => ({ id: this.leaderId }),
    };
  }

  forward(leaderId: string, data: Uint8Array): Promise<number> {
    return this.#append(leaderId, data);
  }

  async #append(id: string, data: Uint8Array): Promise<number> {
    const known = this.#members.some((member) => member.id === id);
    if (id !== this.leaderId || !known) throw new Error(`${id} is not a leader`);
    this.#applied.push(data);
    const index = this.#applied.length;
    const entry = { index: toLogIndex(index), term: toTerm(1), type: "normal" as const, data };
    for (const member of this.#members) await member.node.stateMachine.apply([entry]);
    return index;
  }
}

export async function fakeCluster(ids: readonly string[]): Promise<{
  raft: FakeRaft;
  members: FakeMember[];
}> {
  const raft = new FakeRaft(ids[0]!);
  const keys = ids.map((id) => ({
    id,
    pair: generateEd25519KeyPair(),
    name: `${ORIGIN}/node/${id}`,
  }));
  const members: FakeMember[] = [];
  for (const key of keys) {
    const store = await openMemoryStore();
    const errors: unknown[] = [];
    let clock = 1_763_891_200_000_000n;
    const node = new ClusterNode({
      nodeId: key.id,
      clusterOrigin: ORIGIN,
      store,
      signer: { name: key.name, privateKey: key.pair.privateKey },
      verifierKey: formatVerifierKey(
        noteVerifier(key.name, SIGNATURE_TYPE_ED25519, key.pair.publicKey),
      ),
      nowUnixMicroseconds: () => {
        clock += 1n;
        return clock;
      },
      dutyIntervalMs: 3_600_000,
      forwardToLeader: (leaderId, data) => raft.forward(leaderId, data),
      onError: (error) => errors.push(error),
    });
    const member = { id: key.id, store, node, errors };
    raft.add(member);
    members.push(member);
  }
  return { raft, members };
}

/** Appends rows `from..to` (their data is the row number) to a table, as capture would. */
export async function appendRows(
  store: WitnzStore,
  table: string,
  count: number,
  dataOf: (seq: number) => string = (seq) => `row ${seq}`,
): Promise<CommittedBatch> {
  const head = store.chainHead(table);
  const batch = store.batch();
  const tree = MerkleTree.open(store.treeNodes(table, batch), head?.size ?? 0);
  let previous = head?.chainHash ?? GENESIS_CHAIN_HASH;
  for (let i = 1; i <= count; i++) {
    const seq = (head?.size ?? 0) + i;
    const data = dataHash(Buffer.from(dataOf(seq)));
    const chain = chainHash(previous, seq, data);
    batch.appendChainEntry(table, {
      seq,
      dataHash: data,
      chainHash: chain,
      lsn: BigInt(seq * 16),
      primaryKey: Buffer.from(String(seq)),
    });
    tree.append(data);
    previous = chain;
  }
  await store.commit(batch);
  return {
    acknowledgeLsn: undefined,
    rowsAppended: count,
    rowsByTable: new Map([[table, count]]),
    violations: [],
    tablesCheckpointed: [],
  };
}

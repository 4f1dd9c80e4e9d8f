// The client side of query authentication: a node signs each query it asks a witness with the
// key its submissions are signed with (src/witness/core/query.ts has the text and the check).
import type { KeyObject } from "node:crypto";
import { create } from "@bufbuild/protobuf";
import { ed25519Sign } from "../crypto/index.js";
import { type QueryAuth, QueryAuthSchema } from "../gen/witnz_pb.js";
import { type QueryFields, queryMessage } from "./core/index.js";

/** A node's identity and key for signing its queries. */
export interface QuerySigner {
  readonly nodeId: string;
  readonly privateKey: KeyObject;
}

/** The `auth` field of a query, signed now (or at `nowMs`). */
export function queryAuth(
  signer: QuerySigner,
  fields: Omit<QueryFields, "nodeId" | "timeUnixSeconds">,
  nowMs: number = Date.now(),
): QueryAuth {
  const timeUnixSeconds = Math.floor(nowMs / 1000);
  const signature = ed25519Sign(
    signer.privateKey,
    queryMessage({ ...fields, nodeId: signer.nodeId, timeUnixSeconds }),
  );
  return create(QueryAuthSchema, {
    nodeId: signer.nodeId,
    timeUnixSeconds: BigInt(timeUnixSeconds),
    signature,
  });
}

// The client side of query authentication: a node signs each query it asks a witness with the
// key its submissions are signed with (src/witness/core/query.ts has the text and the check).
import { type KeyObject, randomBytes } from "node:crypto";
import { create } from "@bufbuild/protobuf";
import { ed25519Sign } from "../crypto/index.js";
import { type QueryAuth, QueryAuthSchema } from "../gen/witnz_pb.js";
import { QUERY_NONCE_BYTES, type QueryFields, queryMessage } from "./core/index.js";

/** A node's identity and key for signing its queries. */
export interface QuerySigner {
  readonly nodeId: string;
  readonly privateKey: KeyObject;
}

/** The `auth` field of a query to the witness `fields.witnessId`, signed now (or at `nowMs`) with a fresh nonce. */
export function queryAuth(
  signer: QuerySigner,
  fields: Omit<QueryFields, "nodeId" | "timeUnixSeconds" | "nonce">,
  nowMs: number = Date.now(),
): QueryAuth {
  const timeUnixSeconds = Math.floor(nowMs / 1000);
  const nonce = randomBytes(QUERY_NONCE_BYTES);
  const signature = ed25519Sign(
    signer.privateKey,
    queryMessage({
      ...fields,
      nodeId: signer.nodeId,
      timeUnixSeconds,
      nonce: nonce.toString("hex"),
    }),
  );
  return create(QueryAuthSchema, {
    nodeId: signer.nodeId,
    witnessId: fields.witnessId,
    timeUnixSeconds: BigInt(timeUnixSeconds),
    signature,
    nonce,
  });
}

// Between the generated protobuf messages and the witness's own types.
import { create } from "@bufbuild/protobuf";
import {
  ObservationStatus as ProtoObservationStatus,
  type Verdict as ProtoVerdict,
  VerdictOutcome as ProtoVerdictOutcome,
  type SubmitBatchRequest,
  type SubmitHashRequest,
  VerdictSchema,
} from "../gen/witnz_pb.js";
import type { SubmissionRequest, VerdictOutcome } from "./core/index.js";
import type { ObservationStatus, Verdict } from "./witness-service.js";

/** A uint64 as a JavaScript number; -1 when it is beyond 2^53 - 1 (refused as malformed). */
export function safeNumber(value: bigint): number {
  return value <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(value) : -1;
}

export function fromSubmitBatch(request: SubmitBatchRequest): SubmissionRequest {
  return {
    customerId: request.customerId,
    nodeId: request.nodeId,
    sequence: safeNumber(request.submissionSequence),
    signature: request.signature,
    observations: request.observations.map((observation) => ({
      checkpoint: observation.checkpoint,
      consistencyFromSize: safeNumber(observation.consistencyFromSize),
      consistencyProof: observation.consistencyProof,
      dataHash: observation.dataHash,
    })),
  };
}

export function fromSubmitHash(request: SubmitHashRequest): SubmissionRequest {
  return {
    customerId: request.customerId,
    nodeId: request.nodeId,
    sequence: safeNumber(request.submissionSequence),
    signature: request.signature,
    observations: [
      {
        checkpoint: request.checkpoint,
        consistencyFromSize: safeNumber(request.consistencyFromSize),
        consistencyProof: request.consistencyProof,
        dataHash: request.dataHash,
      },
    ],
    stated: {
      table: request.table,
      size: safeNumber(request.seqNum),
      chainHash: request.chainHash,
      merkleRoot: request.merkleRoot,
      timestampMicroseconds: request.timestamp,
    },
  };
}

const STATUS: Record<ObservationStatus, ProtoObservationStatus> = {
  accepted: ProtoObservationStatus.ACCEPTED,
  duplicate: ProtoObservationStatus.DUPLICATE,
  conflict: ProtoObservationStatus.CONFLICT,
  late: ProtoObservationStatus.LATE,
};
export const toProtoStatus = (status: ObservationStatus): ProtoObservationStatus => STATUS[status];
export function fromProtoStatus(status: ProtoObservationStatus): ObservationStatus | undefined {
  return (Object.entries(STATUS) as [ObservationStatus, ProtoObservationStatus][]).find(
    ([, value]) => value === status,
  )?.[0];
}

const OUTCOME: Record<VerdictOutcome, ProtoVerdictOutcome> = {
  unanimous: ProtoVerdictOutcome.UNANIMOUS,
  tampering_detected: ProtoVerdictOutcome.TAMPERING_DETECTED,
  incomplete_submission: ProtoVerdictOutcome.INCOMPLETE_SUBMISSION,
  no_majority: ProtoVerdictOutcome.NO_MAJORITY,
};

const bytes = (base64: string): Uint8Array => Buffer.from(base64, "base64");
const base64 = (value: Uint8Array): string => Buffer.from(value).toString("base64");

export function toProtoVerdict(verdict: Verdict): ProtoVerdict {
  return create(VerdictSchema, {
    customerId: verdict.customer,
    table: verdict.table,
    size: BigInt(verdict.size),
    outcome: OUTCOME[verdict.outcome],
    ...(verdict.majority === undefined
      ? {}
      : {
          majority: {
            nodeId: "",
            merkleRoot: bytes(verdict.majority.rootHash),
            chainHash: bytes(verdict.majority.chainHash),
          },
        }),
    majorityNodes: [...verdict.majorityNodes],
    minority: verdict.minority.map((value) => ({
      nodeId: value.node,
      merkleRoot: bytes(value.rootHash),
      chainHash: bytes(value.chainHash),
    })),
    missingNodes: [...verdict.missing],
    decidedAtMs: BigInt(verdict.decidedAtMs),
    cosigned: verdict.cosigned,
    cosignRefusal: verdict.cosignRefusal ?? "",
  });
}

export function fromProtoVerdict(verdict: ProtoVerdict): Verdict {
  const outcome = (Object.entries(OUTCOME) as [VerdictOutcome, ProtoVerdictOutcome][]).find(
    ([, value]) => value === verdict.outcome,
  )?.[0];
  if (outcome === undefined) throw new Error(`unknown verdict outcome ${verdict.outcome}`);
  return {
    customer: verdict.customerId,
    table: verdict.table,
    size: safeNumber(verdict.size),
    outcome,
    ...(verdict.majority === undefined
      ? {}
      : {
          majority: {
            rootHash: base64(verdict.majority.merkleRoot),
            chainHash: base64(verdict.majority.chainHash),
          },
        }),
    majorityNodes: verdict.majorityNodes,
    minority: verdict.minority.map((value) => ({
      node: value.nodeId,
      rootHash: base64(value.merkleRoot),
      chainHash: base64(value.chainHash),
    })),
    missing: verdict.missingNodes,
    decidedAtMs: Number(verdict.decidedAtMs),
    cosigned: verdict.cosigned,
    ...(verdict.cosignRefusal === "" ? {} : { cosignRefusal: verdict.cosignRefusal }),
  };
}

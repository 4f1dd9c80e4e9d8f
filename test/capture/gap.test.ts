// The pure gap rule and the gap note's text (docs/design/capture.md).
import { describe, expect, test } from "vitest";
import { gapNoteText, judgeSlot } from "../../src/capture/index.js";
import { toLsn } from "../../src/postgres/index.js";

const lsn = (value: number) => toLsn(BigInt(value));

describe("judgeSlot", () => {
  test("first start: take the slot's position as the baseline, creating the slot if missing", () => {
    expect(judgeSlot(undefined, undefined)).toEqual({ action: "baseline", createSlot: true });
    expect(judgeSlot(undefined, { confirmedFlushLsn: lsn(500) })).toEqual({
      action: "baseline",
      createSlot: false,
    });
  });

  test("a missing slot after anything was stored is recreated and a gap from what was stored", () => {
    expect(judgeSlot(lsn(700), undefined)).toEqual({ action: "recreate", fromLsn: lsn(700) });
  });

  test("a slot beyond what was stored is a gap; at or behind it, streaming resumes", () => {
    expect(judgeSlot(lsn(700), { confirmedFlushLsn: lsn(900) })).toEqual({
      action: "gap",
      gap: { reason: "slot_advanced", fromLsn: lsn(700), toLsn: lsn(900) },
    });
    expect(judgeSlot(lsn(700), { confirmedFlushLsn: lsn(700) })).toEqual({ action: "stream" });
    // Behind: a confirmation lost in a crash after the durable write; replay skips the repeats.
    expect(judgeSlot(lsn(700), { confirmedFlushLsn: lsn(600) })).toEqual({ action: "stream" });
    expect(judgeSlot(lsn(700), { confirmedFlushLsn: null })).toEqual({ action: "stream" });
  });
});

test("gap note text", () => {
  const text = gapNoteText({
    clusterOrigin: "witnz/c1",
    table: "public.audit_log",
    gap: { reason: "slot_missing", fromLsn: lsn(0x16b43d28), toLsn: lsn(0x16b50000) },
    detectedAtUnixMicroseconds: 1714564800000000n,
    chainSize: 20,
    chainHash: new Uint8Array(32).fill(0x11),
    violationLogSize: 0,
    violationLogHash: new Uint8Array(32),
  });
  expect(text).toBe(
    [
      "witnz/c1/public.audit_log/gap",
      "witnz-gap slot_missing",
      "witnz-gap-from 0/16B43D28",
      "witnz-gap-to 0/16B50000",
      'witnz-table "public.audit_log"',
      "witnz-chain 20 ERERERERERERERERERERERERERERERERERERERERERE=",
      "witnz-violations 0 AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
      "witnz-time-us 1714564800000000",
      "",
    ].join("\n"),
  );
});

// PostgreSQL log sequence numbers: a 64-bit byte position in the WAL, written `X/Y` where X and Y
// are the high and low 32 bits in hex. Kept as bigint so no arithmetic ever rounds.

import { PostgresError } from "./errors.js";

declare const lsnBrand: unique symbol;
export type Lsn = bigint & { readonly [lsnBrand]: true };

const LSN_MAX = (1n << 64n) - 1n;
const LSN_TEXT = /^([0-9A-Fa-f]{1,8})\/([0-9A-Fa-f]{1,8})$/;

/** The invalid LSN `0/0`; as a start position it means "where the slot's confirmed flush is". */
export const LSN_ZERO = 0n as Lsn;

export function toLsn(value: bigint): Lsn {
  if (value < 0n || value > LSN_MAX) {
    throw new PostgresError("WITNZ_POSTGRES_INVALID", `an LSN must be 0..2^64-1, got ${value}`);
  }
  return value as Lsn;
}

/** Parses `X/Y` (any case, with or without zero padding) as PostgreSQL prints pg_lsn. */
export function parseLsn(text: string): Lsn {
  const match = LSN_TEXT.exec(text);
  if (match === null) {
    throw new PostgresError("WITNZ_POSTGRES_INVALID", `${JSON.stringify(text)} is not an LSN X/Y`);
  }
  return ((BigInt(`0x${match[1]}`) << 32n) | BigInt(`0x${match[2]}`)) as Lsn;
}

/** Formats as upper-case `X/Y` without padding, the form pg_lsn printed before PostgreSQL 18. */
export function formatLsn(lsn: Lsn): string {
  const high = (lsn >> 32n).toString(16).toUpperCase();
  const low = (lsn & 0xffff_ffffn).toString(16).toUpperCase();
  return `${high}/${low}`;
}

export function maxLsn(left: Lsn, right: Lsn): Lsn {
  return left > right ? left : right;
}

/** Hashes are shown cut to this many hex digits; the full value is in the title. */
export const HASH_HEX_SHOWN = 16;

export function shortHash(hash: string | null): string {
  return hash === null ? "—" : `${hash.slice(0, HASH_HEX_SHOWN)}…`;
}

export function formatBytes(bytes: number | null): string {
  if (bytes === null) return "?";
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KiB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}

export function formatTime(iso: string): string {
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? iso : date.toLocaleTimeString();
}

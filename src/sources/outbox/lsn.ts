// PostgreSQL's WAL positions (pg_lsn): "X/Y" in hex, written padded or not, compared as numbers.
export function lsnValue(text: string): bigint {
  const m = /^([0-9A-Fa-f]{1,8})\/([0-9A-Fa-f]{1,8})$/.exec(text);
  if (!m) throw new Error(`${JSON.stringify(text)} is not a WAL position (X/Y in hex)`);
  return (BigInt(`0x${m[1]}`) << 32n) | BigInt(`0x${m[2]}`);
}

/** The canonical text ("16/B374D848"), as pg_lsn prints it. */
export function formatLsn(value: bigint): string {
  return `${(value >> 32n).toString(16).toUpperCase()}/${(value & 0xffffffffn).toString(16).toUpperCase()}`;
}

export const normalLsn = (text: string): string => formatLsn(lsnValue(text));

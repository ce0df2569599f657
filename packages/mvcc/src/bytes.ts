/**
 * Byte-string helpers. Keys are `Uint8Array`s compared bytewise; in memory the index keys them by
 * their "binary string" (one char per byte, code 0–255), whose JavaScript `<` order is exactly
 * bytewise order and which is a cheap Map/B-tree key. Pure.
 */

/** Bytewise comparison, as etcd's bytes.Compare. */
export function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const d = a[i]! - b[i]!;
    if (d !== 0) return d;
  }
  return a.length - b.length;
}

/** True when both hold the same bytes. */
export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** The binary string of `b`: char i has code b[i]. Order-preserving. */
export function toBinary(b: Uint8Array): string {
  // Chunked to stay clear of the engine's argument-count limit for long keys.
  if (b.length <= 4096) return String.fromCharCode.apply(null, b as unknown as number[]);
  let s = '';
  for (let i = 0; i < b.length; i += 4096) {
    s += String.fromCharCode.apply(null, b.subarray(i, i + 4096) as unknown as number[]);
  }
  return s;
}

/**
 * Orders binary strings (bytewise order), for B-trees keyed by them. sorted-btree's default
 * comparator tests for numbers and types first and makes up to three string comparisons.
 */
export function compareBinary(a: string, b: string): number {
  return a < b ? -1 : a === b ? 0 : 1;
}

/** The bytes of a binary string made by `toBinary`. */
export function fromBinary(s: string): Uint8Array {
  const b = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) b[i] = s.charCodeAt(i);
  return b;
}

const encoder = new TextEncoder();

/** UTF-8 bytes of a string, for keys and values given as text. */
export function utf8(s: string): Uint8Array {
  return encoder.encode(s);
}

/**
 * The range end that selects every key with `prefix` (etcd's clientv3.GetPrefixRangeEnd): drop
 * trailing 0xff bytes and increment the last byte; a prefix of only 0xff bytes (or empty) gives
 * `\0`, which means "to the end of the keyspace".
 */
export function prefixEnd(prefix: Uint8Array): Uint8Array {
  for (let i = prefix.length - 1; i >= 0; i--) {
    if (prefix[i]! < 0xff) {
      const end = prefix.slice(0, i + 1);
      end[i]!++;
      return end;
    }
  }
  return new Uint8Array([0]);
}

/** The interpretation of a (key, rangeEnd) pair, as etcd defines it. */
export type KeyRange =
  | { readonly kind: 'single'; readonly key: string }
  | { readonly kind: 'fromKey'; readonly key: string }
  | { readonly kind: 'range'; readonly key: string; readonly end: string };

/**
 * Classifies etcd's range encoding: no rangeEnd = one key; rangeEnd `\0` = every key >= key;
 * otherwise [key, rangeEnd). A rangeEnd <= key selects nothing (returned as an empty range).
 */
export function keyRange(key: Uint8Array, rangeEnd: Uint8Array | undefined): KeyRange {
  const k = toBinary(key);
  if (rangeEnd === undefined || rangeEnd.length === 0) return { kind: 'single', key: k };
  if (rangeEnd.length === 1 && rangeEnd[0] === 0) return { kind: 'fromKey', key: k };
  return { kind: 'range', key: k, end: toBinary(rangeEnd) };
}

/** Whether binary key `k` falls in range `r`. */
export function inRange(r: KeyRange, k: string): boolean {
  switch (r.kind) {
    case 'single':
      return k === r.key;
    case 'fromKey':
      return k >= r.key;
    case 'range':
      return k >= r.key && k < r.end;
  }
}

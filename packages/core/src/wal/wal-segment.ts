/**
 * WAL segment files (etcd's `wal/util.go`): `<seq>-<index>.wal`, both 16 hex digits, where `seq`
 * counts segments from 0 and `index` is the first log index the segment was opened for, so a
 * directory listing sorts in log order and old segments can be released after a snapshot.
 * Pure. No I/O.
 */

/** Suffix of WAL segment files. */
export const SEGMENT_SUFFIX = '.wal';

/** A segment's identity, parsed from its file name. */
export interface SegmentName {
  readonly seq: number;
  readonly index: number;
}

const HEX_DIGITS = 16;
const SEGMENT_RE = /^([0-9a-f]{16})-([0-9a-f]{16})\.wal$/;

function hex(n: number): string {
  return n.toString(16).padStart(HEX_DIGITS, '0');
}

/** The file name of segment `seq` opened at log index `index`. */
export function segmentFileName(seq: number, index: number): string {
  return `${hex(seq)}-${hex(index)}${SEGMENT_SUFFIX}`;
}

/** Parses a segment file name; undefined for any other file (temp files, strays). */
export function parseSegmentName(name: string): SegmentName | undefined {
  const m = SEGMENT_RE.exec(name);
  if (m === null) return undefined;
  const seq = Number.parseInt(m[1]!, 16);
  const index = Number.parseInt(m[2]!, 16);
  if (!Number.isSafeInteger(seq) || !Number.isSafeInteger(index)) return undefined;
  return { seq, index };
}

/** The segment files among `names`, in sequence order. */
export function sortSegments(names: readonly string[]): Array<SegmentName & { readonly name: string }> {
  const out: Array<SegmentName & { readonly name: string }> = [];
  for (const name of names) {
    const parsed = parseSegmentName(name);
    if (parsed !== undefined) out.push({ ...parsed, name });
  }
  return out.sort((a, b) => a.seq - b.seq);
}

/**
 * int64 request fields whose valid values beyond JavaScript's safe integers (±2^53) the gateway
 * can pass on with the same meaning. The gRPC handlers read these fields as numbers and refuse a
 * value they cannot hold, where etcd (Go's int64) answers; for the fields below a value that large
 * means the same to etcd as one the handlers can hold, so the gateway sends that one instead:
 *
 * - `noLimit`: a range limit. etcd treats a limit ≤ 0 or ≥ the keys found as no limit, and no
 *   member holds 2^53 keys: a limit beyond the safe range is no limit, 0.
 * - `clamp`: a revision, version or revision bound, compared with the store's revisions (which
 *   stay far below 2^53): every comparison comes out the same for ±(2^53-1) as for the value.
 *   A revision that large is a future one; a negative one is a negative one.
 *
 * Not here, and refused by the handlers when beyond the safe range: a watch ID chosen by the
 * client (WatchCreateRequest.watch_id), which etcd echoes back and so cannot be replaced.
 * Lease and member IDs and TTLs are read as bigints and need nothing.
 *
 * Pure.
 */

/** How an out-of-safe-range value of a field is replaced. */
export type UnsafeInt64Rule = 'noLimit' | 'clamp';

/** `Message.field` → its rule (see the file comment). */
export const UNSAFE_INT64_FIELDS: Readonly<Record<string, UnsafeInt64Rule>> = {
  'etcdserverpb.RangeRequest.limit': 'noLimit',
  'etcdserverpb.RangeRequest.revision': 'clamp',
  'etcdserverpb.RangeRequest.min_mod_revision': 'clamp',
  'etcdserverpb.RangeRequest.max_mod_revision': 'clamp',
  'etcdserverpb.RangeRequest.min_create_revision': 'clamp',
  'etcdserverpb.RangeRequest.max_create_revision': 'clamp',
  'etcdserverpb.Compare.version': 'clamp',
  'etcdserverpb.Compare.create_revision': 'clamp',
  'etcdserverpb.Compare.mod_revision': 'clamp',
  'etcdserverpb.CompactionRequest.revision': 'clamp',
  'etcdserverpb.HashKVRequest.revision': 'clamp',
  'etcdserverpb.WatchCreateRequest.start_revision': 'clamp',
  'v3electionpb.LeaderKey.rev': 'clamp',
};

const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);
const MIN_SAFE = BigInt(Number.MIN_SAFE_INTEGER);

/** `value` of field `message.field`, replaced when it is beyond the safe range and a rule allows. */
export function safeInt64(message: string, field: string, value: bigint): bigint {
  if (value <= MAX_SAFE && value >= MIN_SAFE) return value;
  switch (UNSAFE_INT64_FIELDS[`${message}.${field}`]) {
    case 'noLimit':
      return 0n;
    case 'clamp':
      return value > 0n ? MAX_SAFE : MIN_SAFE;
    default:
      return value;
  }
}

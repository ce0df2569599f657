/**
 * etcd's alarm store: the alarms raised on the cluster, one per (member, type), persisted in the
 * alarm bucket and restored on open. Alarms are raised and disarmed by replicated requests
 * (etcd's AlarmRequest goes through raft), so `activate` and `deactivate` are applied like any
 * write: synchronously, buffered in the backend, durable with the next `store.commit()`.
 *
 * While any NOSPACE alarm is active the store is capped (`store.spaceExhausted`): puts and
 * writing txns fail with NoSpaceError; reads, deletes and compaction still work. What CORRUPT
 * means to the host (etcd refuses every request) is the host's business: see `has`.
 */

import { Bucket, bucketBounds, bucketKey } from '../codec.js';
import { CorruptDataDirError } from '../errors.js';
import type { KVStore } from '../kvstore.js';

/**
 * The alarm types, as etcd's AlarmType. NONE does nothing, but etcd 3.4 stores and lists one when
 * asked to raise it, so it is kept like the others.
 */
export type AlarmType = 'NONE' | 'NOSPACE' | 'CORRUPT';

/** etcd's AlarmMember: an alarm raised by (or for) one member. */
export interface AlarmMember {
  readonly memberId: bigint;
  readonly alarm: AlarmType;
}

/** etcd's enum values, used as the stored type byte. */
const ALARM_CODE: Readonly<Record<AlarmType, number>> = { NONE: 0, NOSPACE: 1, CORRUPT: 2 };
const MAX_MEMBER_ID = (1n << 64n) - 1n;

/** The alarms of a store. Open with `Alarms.open(store)`. */
export class Alarms {
  /** Active alarms by storage key (binary string), for idempotent activate/deactivate. */
  private readonly active = new Map<string, AlarmMember>();

  private constructor(private readonly store: KVStore) {}

  /** Loads the persisted alarms and caps the store if a NOSPACE alarm is among them. */
  static async open(store: KVStore): Promise<Alarms> {
    const alarms = new Alarms(store);
    const { gte, lt } = bucketBounds(Bucket.alarm);
    for await (const [k] of store.backend.iterate(gte, lt)) {
      const m = decodeAlarmKey(k, store);
      alarms.active.set(alarmId(m), m);
    }
    alarms.updateCap();
    return alarms;
  }

  /** Raises `alarm` for `memberId` (idempotent); returns the active alarm. */
  activate(memberId: bigint, alarm: AlarmType): AlarmMember {
    const m = member(memberId, alarm);
    const id = alarmId(m);
    const existing = this.active.get(id);
    if (existing !== undefined) return existing;
    this.active.set(id, m);
    this.store.backend.put(alarmKey(m), new Uint8Array(0));
    this.updateCap();
    return m;
  }

  /** Disarms `alarm` for `memberId`; returns the alarm removed, or undefined if it was not raised. */
  deactivate(memberId: bigint, alarm: AlarmType): AlarmMember | undefined {
    const m = member(memberId, alarm);
    const id = alarmId(m);
    const existing = this.active.get(id);
    if (existing === undefined) return undefined;
    this.active.delete(id);
    this.store.backend.del(alarmKey(m));
    this.updateCap();
    return existing;
  }

  /** The active alarms (of one type if given), ordered by member ID then type. */
  list(alarm?: AlarmType): AlarmMember[] {
    const out = [...this.active.values()].filter((m) => alarm === undefined || m.alarm === alarm);
    return out.sort((a, b) =>
      a.memberId !== b.memberId
        ? a.memberId < b.memberId
          ? -1
          : 1
        : ALARM_CODE[a.alarm] - ALARM_CODE[b.alarm],
    );
  }

  /** Whether any member has `alarm` raised (the host refuses requests under CORRUPT). */
  has(alarm: AlarmType): boolean {
    for (const m of this.active.values()) if (m.alarm === alarm) return true;
    return false;
  }

  /** The store is capped exactly while some NOSPACE alarm is active. */
  private updateCap(): void {
    this.store.spaceExhausted = this.has('NOSPACE');
  }
}

function member(memberId: bigint, alarm: AlarmType): AlarmMember {
  if (memberId < 0n || memberId > MAX_MEMBER_ID)
    throw new RangeError(`alarm: member ID ${memberId} is not a u64`);
  if (!Object.hasOwn(ALARM_CODE, alarm)) throw new RangeError(`alarm: unknown alarm type ${String(alarm)}`);
  return { memberId, alarm };
}

/** Storage key: alarm bucket | u64 member ID | u8 type (etcd's enum value). */
function alarmKey(m: AlarmMember): Uint8Array {
  const body = new Uint8Array(9);
  const dv = new DataView(body.buffer);
  dv.setBigUint64(0, m.memberId);
  dv.setUint8(8, ALARM_CODE[m.alarm]);
  return bucketKey(Bucket.alarm, body);
}

function alarmId(m: AlarmMember): string {
  return `${m.memberId}:${m.alarm}`;
}

function decodeAlarmKey(k: Uint8Array, store: KVStore): AlarmMember {
  const type = (Object.keys(ALARM_CODE) as AlarmType[]).find((t) => ALARM_CODE[t] === k[9]);
  if (k.length !== 10 || type === undefined) {
    const dir = (store.backend as { dir?: string }).dir ?? 'the backend';
    throw new CorruptDataDirError(dir, `malformed alarm entry ${Buffer.from(k).toString('hex')}`);
  }
  return { memberId: new DataView(k.buffer, k.byteOffset, k.byteLength).getBigUint64(1), alarm: type };
}

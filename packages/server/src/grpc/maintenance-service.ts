/**
 * etcd's Maintenance service (Status, Defragment, Hash, HashKV, Snapshot, Alarm, MoveLeader) on a
 * node, with etcd 3.4's reply shapes: Defragment, Alarm and MoveLeader replies carry no header,
 * and Snapshot chunks carry none either (etcd 3.4's server fills none of them).
 *
 * Differences from etcd, deliberate:
 *  - Snapshot streams our own store image (mvcc's snapshot format), not a bbolt file. etcdctl 3.4's
 *    `snapshot save` insists on etcd's framing — the file's size is 32 more than a multiple of
 *    512 and ends in the SHA-256 of the rest (it refuses anything else with "sha256 checksum not
 *    found") — so the image is framed as etcd's db is: see frameSnapshot. `tsetcd snapshot
 *    restore/status` take such a file back with unframeSnapshot; etcd's own tools cannot read the
 *    image inside (`etcdctl snapshot status` fails to open it as a bbolt file).
 *    The image is gathered in memory first, so that every chunk's remaining_bytes is exact.
 *  - dbSizeInUse is dbSize: our backend does not track free pages apart.
 *  - HashKV's compact_revision is -1 when the store was never compacted, as etcd's.
 */

import { createHash } from 'node:crypto';
import type { TsetcdNode } from '@tsetcd/core';
import { type AlarmMember, type AlarmType, CompactedError } from '@tsetcd/mvcc';
import type { ServiceImplementation } from '../grpc-server/grpc-server.js';
import type { ServiceCall } from '../grpc-server/server-call.js';
import { callOptions, clientFor, unary } from './call.js';
import { big, headerOut, num, type Pb } from './convert.js';
import { toWireError } from './errors.js';

/** Bytes per Snapshot message (etcd's 32 KiB). */
export const SNAPSHOT_CHUNK_BYTES = 32 * 1024;
/** etcdctl accepts a snapshot file whose size is SHA-256 bytes more than a multiple of this. */
export const SNAPSHOT_BLOCK_BYTES = 512;
const SHA256_BYTES = 32;
/** Bytes that record the padding length at the end of the padding. */
const PAD_LENGTH_BYTES = 2;

/**
 * Frames a store image as etcd frames its db in the Snapshot stream, so etcdctl saves it:
 *
 *   image | zeros | u16 padLength | SHA-256(image | padding)
 *
 * The padding (PAD_LENGTH_BYTES .. SNAPSHOT_BLOCK_BYTES + 1 bytes, its length, big-endian, in
 * its last two bytes) makes `image | padding` a multiple of SNAPSHOT_BLOCK_BYTES, etcd's own
 * integrity check (etcdutl restore) holds, and the image can be cut out again.
 * Returns the framed db (image and padding) and the digest etcd sends as the last message.
 */
export function frameSnapshot(image: Uint8Array): { readonly db: Buffer; readonly sha256: Buffer } {
  let pad = (SNAPSHOT_BLOCK_BYTES - (image.length % SNAPSHOT_BLOCK_BYTES)) % SNAPSHOT_BLOCK_BYTES;
  if (pad < PAD_LENGTH_BYTES) pad += SNAPSHOT_BLOCK_BYTES;
  const db = Buffer.alloc(image.length + pad);
  db.set(image);
  db.writeUInt16BE(pad, db.length - PAD_LENGTH_BYTES);
  return { db, sha256: createHash('sha256').update(db).digest() };
}

/**
 * The store image inside a file `etcdctl snapshot save` wrote from our stream (see
 * frameSnapshot), after checking its SHA-256; a file that is not framed so is returned as it is
 * (an image saved by other means: its own format verifies it).
 */
export function unframeSnapshot(file: Uint8Array): Uint8Array {
  const n = file.length;
  if (n % SNAPSHOT_BLOCK_BYTES !== SHA256_BYTES) return file;
  const db = Buffer.from(file.buffer, file.byteOffset, n - SHA256_BYTES);
  const digest = createHash('sha256').update(db).digest();
  if (!digest.equals(file.subarray(n - SHA256_BYTES))) return file;
  const pad = db.readUInt16BE(db.length - PAD_LENGTH_BYTES);
  if (pad < PAD_LENGTH_BYTES || pad > SNAPSHOT_BLOCK_BYTES + 1 || pad > db.length) return file;
  const zeros = db.subarray(db.length - pad, db.length - PAD_LENGTH_BYTES);
  if (!zeros.every((b) => b === 0)) return file;
  return file.subarray(0, db.length - pad);
}

const ALARM_TYPES: readonly string[] = ['NONE', 'NOSPACE', 'CORRUPT'];

function alarmsOut(alarms: readonly AlarmMember[]): Pb {
  return { alarms: alarms.map((a) => ({ memberID: a.memberId.toString(), alarm: a.alarm })) };
}

/** A number field, left out when zero. */
function put(o: Pb, field: string, v: number | bigint): void {
  if (v !== 0 && v !== 0n) o[field] = v.toString();
}

/** The Maintenance service's handlers. */
export function maintenanceService(node: TsetcdNode): ServiceImplementation {
  return {
    Status: unary<Pb, Pb>(async (_req, call) => {
      const s = await clientFor(node, call.metadata).maintenance.status();
      const o: Pb = { header: headerOut(s.header), version: s.version };
      put(o, 'dbSize', s.dbSize);
      put(o, 'leader', s.leader);
      put(o, 'raftIndex', s.raftIndex);
      put(o, 'raftTerm', s.raftTerm);
      put(o, 'raftAppliedIndex', s.raftAppliedIndex);
      o.errors = [...s.errors];
      put(o, 'dbSizeInUse', s.dbSize);
      if (s.isLearner) o.isLearner = true;
      return o;
    }),
    Defragment: unary<Pb, Pb>(async (_req, call) => {
      await clientFor(node, call.metadata).maintenance.defragment();
      return {};
    }),
    Hash: unary<Pb, Pb>(async (_req, call) => {
      const r = await clientFor(node, call.metadata).maintenance.hash();
      const o: Pb = { header: headerOut(r.header) };
      if (r.hash !== 0) o.hash = r.hash;
      return o;
    }),
    HashKV: unary<Pb, Pb>(async (req, call) => {
      const revision = num(req.revision);
      const r = await clientFor(node, call.metadata).maintenance.hashKV(revision);
      // etcd 3.4's HashByRev refuses the compaction revision itself too (rev <= compactRev).
      // Core's hashKV takes it (replicas compare hashes there); the gRPC API answers as etcd.
      if (revision > 0 && revision <= r.compactRevision) throw new CompactedError(r.compactRevision);
      const o: Pb = { header: headerOut(r.header), compactRevision: String(r.compactRevision) };
      if (r.hash !== 0) o.hash = r.hash;
      return o;
    }),
    Alarm: unary<Pb, Pb>(async (req, call) => {
      const client = clientFor(node, call.metadata);
      const memberId = big(req.memberID);
      const alarm = String(req.alarm ?? 'NONE');
      switch (req.action ?? 'GET') {
        case 'GET': {
          const r = await client.maintenance.alarms(callOptions(call));
          return alarmsOut(alarm === 'NONE' ? r.alarms : r.alarms.filter((a) => a.alarm === alarm));
        }
        case 'ACTIVATE': {
          if (!ALARM_TYPES.includes(alarm)) return {};
          // Through the caller's context: a token that is not valid is refused, as by etcd.
          const r = await client.maintenance.activate(memberId, alarm as AlarmType, callOptions(call));
          return alarmsOut(r.alarms);
        }
        case 'DEACTIVATE': {
          if (!ALARM_TYPES.includes(alarm)) return {};
          // As etcd: member 0 is not "every member" here (core's disarm() offers that).
          const r = await client.maintenance.deactivate(memberId, alarm as AlarmType, callOptions(call));
          return alarmsOut(r.alarms);
        }
        default:
          throw new TypeError(`unknown alarm action ${String(req.action)}`);
      }
    }),
    MoveLeader: unary<Pb, Pb>(async (req, call) => {
      await clientFor(node, call.metadata).maintenance.moveLeader(big(req.targetID), callOptions(call));
      return {};
    }),
    Snapshot: (call: ServiceCall) => {
      streamSnapshot(node, call).catch((err: unknown) => {
        const w = toWireError(err);
        call.sendStatus(w);
      });
    },
  };
}

/**
 * Snapshot, as etcd 3.4 sends it:
 *   1. read the whole image (the first read checks authorization) and frame it (frameSnapshot);
 *   2. send the framed db in SNAPSHOT_CHUNK_BYTES pieces, each with the bytes still to come,
 *      waiting for the stream to drain when grpc-js buffers;
 *   3. send the SHA-256 as one last message and end the stream.
 */
async function streamSnapshot(node: TsetcdNode, call: ServiceCall): Promise<void> {
  let cancelled = false;
  call.once('cancelled', () => {
    cancelled = true;
  });
  const parts: Uint8Array[] = [];
  for await (const chunk of clientFor(node, call.metadata).maintenance.snapshot()) {
    if (cancelled) return;
    parts.push(chunk);
  }
  const { db, sha256 } = frameSnapshot(Buffer.concat(parts));
  const send = async (msg: Pb): Promise<void> => {
    if (call.write(msg)) return;
    await new Promise<void>((resolve) => {
      call.once('drain', resolve);
      call.once('cancelled', resolve);
    });
  };
  for (let sent = 0; sent < db.length && !cancelled; ) {
    const blob = db.subarray(sent, sent + SNAPSHOT_CHUNK_BYTES);
    sent += blob.length;
    const msg: Pb = { blob };
    if (db.length - sent !== 0) msg.remainingBytes = String(db.length - sent);
    await send(msg);
  }
  if (cancelled) return;
  await send({ blob: sha256 });
  call.end();
}

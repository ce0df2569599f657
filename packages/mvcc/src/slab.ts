/**
 * Small byte arrays carved from shared 64 KiB slabs, as Node's Buffer pool does: V8 gives every
 * Uint8Array over 64 bytes its own ArrayBuffer, whose allocation and later collection cost more
 * than the rest of a put (encoding a key-value) or a range (copying one out). Each array is its
 * own fresh, zero-filled region, never handed out twice, so no two holders see each other's
 * bytes; a slab lives while any of its arrays does. Pure.
 */

/** Bytes of one slab. */
export const SLAB_BYTES = 64 * 1024;
/** Arrays larger than this get their own buffer (a slab holds at least 16 of the largest). */
export const SLAB_MAX_BYTES = 4 * 1024;

let slab = new Uint8Array(SLAB_BYTES);
let slabAt = 0;

/** A zero-filled array of `len` bytes, carved from the current slab when small. */
export function allocBytes(len: number): Uint8Array {
  if (len > SLAB_MAX_BYTES) return new Uint8Array(len);
  if (slabAt + len > SLAB_BYTES) {
    slab = new Uint8Array(SLAB_BYTES);
    slabAt = 0;
  }
  const out = slab.subarray(slabAt, slabAt + len);
  // 8-byte aligned, so a DataView over the array reads aligned words.
  slabAt = (slabAt + len + 7) & ~7;
  return out;
}

/** A private copy of b[at, at+len), carved from the current slab when small. */
export function copyBytes(b: Uint8Array, at: number, len: number): Uint8Array {
  const out = allocBytes(len);
  out.set(b.subarray(at, at + len));
  return out;
}

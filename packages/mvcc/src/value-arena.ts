/**
 * ValueArena: copies of small stored values carved from 64 KiB slabs that one owner keeps
 * account of, for MemoryBackend. An ArrayBuffer per stored revision cost a put more than the
 * rest of it; but a value carved from a slab keeps the whole slab alive, and after a compaction
 * removes most of a slab's values the few survivors would pin it. So the arena counts the bytes
 * of its live values against the bytes of slabs it handed out, and tells its owner to repack
 * (copy every value into fresh slabs) once the slabs hold more than twice what is live: memory
 * stays within about twice the live values, and a repack's copying is paid for by the bytes
 * freed since the last one. Pure.
 */

/** Bytes of one slab. */
export const VALUE_SLAB_BYTES = 64 * 1024;
/** Values larger than this get a buffer of their own (a slab holds at least 16 of the largest). */
export const VALUE_SLAB_MAX_BYTES = 4 * 1024;
/** Slab bytes below which the arena never asks for a repack. */
export const REPACK_MIN_BYTES = 1024 * 1024;

/** Slab-carved copies of values, with the accounting that bounds what the slabs pin. */
export class ValueArena {
  private slab = new Uint8Array(0);
  private at = 0;
  /** The slabs this arena carved from: only their values count as live here. */
  private slabs = new WeakSet<ArrayBufferLike>();
  private slabBytesValue = 0;
  private liveBytesValue = 0;

  /** Bytes of slabs handed out since the last reset: the most the arena's values can pin. */
  get slabBytes(): number {
    return this.slabBytesValue;
  }

  /** Bytes of this arena's values still stored. */
  get liveBytes(): number {
    return this.liveBytesValue;
  }

  /** A private copy of `v`: carved from a slab when small, a buffer of its own otherwise. */
  copy(v: Uint8Array): Uint8Array {
    const n = v.length;
    if (n > VALUE_SLAB_MAX_BYTES) return v.slice();
    if (this.at + n > this.slab.length) {
      this.slab = new Uint8Array(VALUE_SLAB_BYTES);
      this.slabs.add(this.slab.buffer);
      this.at = 0;
      this.slabBytesValue += VALUE_SLAB_BYTES;
    }
    const out = this.slab.subarray(this.at, this.at + n);
    out.set(v);
    this.at += n;
    this.liveBytesValue += n;
    return out;
  }

  /** Tells the arena a stored value is gone (deleted or overwritten); values not its own are ignored. */
  release(v: Uint8Array): void {
    if (this.slabs.has(v.buffer)) this.liveBytesValue -= v.length;
  }

  /** Whether the slabs pin more than twice the live values (and enough to be worth a repack). */
  get wantsRepack(): boolean {
    return this.slabBytesValue > REPACK_MIN_BYTES && this.slabBytesValue > 2 * this.liveBytesValue;
  }

  /** Forgets every slab: the owner is about to copy each stored value again with copy(). */
  reset(): void {
    this.slab = new Uint8Array(0);
    this.at = 0;
    this.slabs = new WeakSet();
    this.slabBytesValue = 0;
    this.liveBytesValue = 0;
  }
}

/**
 * Key blocks: encoding cuts entries into blocks by count and bytes, a block reads back every
 * entry it was given and nothing else, damage is caught, and the directory finds each key's block.
 * A builder takes its batch buffers from a pool and says whether a read saw into one.
 */

import { describe, expect, it } from 'vitest';
import { toBinary, utf8 } from './bytes.js';
import {
  BLOCK_MAX_ENTRIES,
  BLOCK_TARGET_BYTES,
  BlockBuilder,
  BlockDirectory,
  BlockFormatError,
  BufferPool,
  blockRecordKey,
  encodeBlocks,
  KeyBlock,
} from './key-blocks.js';

const key = (i: number) => utf8(`\x01rev-${String(i).padStart(6, '0')}`);

function encode(keys: Uint8Array[], values: Uint8Array[]): { block: KeyBlock; recordKey: Uint8Array }[] {
  const out: { block: KeyBlock; recordKey: Uint8Array }[] = [];
  encodeBlocks(keys, values, (block, recordKey) => out.push({ block, recordKey }));
  return out;
}

describe('encodeBlocks', () => {
  it(`cuts small entries every ${BLOCK_MAX_ENTRIES}, each block keyed 0x00 + its first key`, () => {
    const n = 2 * BLOCK_MAX_ENTRIES + 5;
    const keys = Array.from({ length: n }, (_, i) => key(i));
    const values = keys.map((_, i) => utf8(`value ${i}`));
    const blocks = encode(keys, values);
    expect(blocks.map((b) => b.block.size)).toEqual([BLOCK_MAX_ENTRIES, BLOCK_MAX_ENTRIES, 5]);
    for (const [j, { block, recordKey }] of blocks.entries()) {
      expect(block.first).toBe(toBinary(keys[j * BLOCK_MAX_ENTRIES]!));
      expect([...recordKey]).toEqual([0, ...keys[j * BLOCK_MAX_ENTRIES]!]);
    }
  });

  it('closes a block once its entries reach the byte target; a bigger entry is alone', () => {
    const big = new Uint8Array(BLOCK_TARGET_BYTES * 2).fill(7);
    const small = new Uint8Array(BLOCK_TARGET_BYTES / 4).fill(1);
    const keys = [key(1), key(2), key(3), key(4), key(5), key(6), key(7)];
    const values = [small, small, small, small, big, small, small];
    expect(encode(keys, values).map((b) => b.block.size)).toEqual([4, 1, 2]);
  });

  it('reads back every entry it was given, and nothing else', () => {
    const keys = Array.from({ length: 40 }, (_, i) => key(2 * i));
    const values = keys.map((_, i) => new Uint8Array(i).fill(i));
    const { block, recordKey } = encode(keys, values)[0]!;
    const read = KeyBlock.verified(recordKey, block.bytes.slice());
    for (let i = 0; i < 40; i++) {
      expect(read.get(toBinary(key(2 * i)))).toEqual(values[i]);
      expect(read.get(toBinary(key(2 * i + 1)))).toBeUndefined();
      expect(read.entry(i).keyBytes).toEqual(keys[i]);
    }
    expect(read.lastKey()).toBe(toBinary(key(78)));
  });
});

describe('KeyBlock.verified', () => {
  const keys = [key(1), key(2), key(3)];
  const values = [utf8('a'), utf8('bb'), utf8('ccc')];
  const { block, recordKey } = encode(keys, values)[0]!;

  it('refuses a flipped bit anywhere in the block', () => {
    for (let at = 0; at < block.bytes.length; at++) {
      const damaged = block.bytes.slice();
      damaged[at]! ^= 0x10;
      expect(() => KeyBlock.verified(recordKey, damaged), `byte ${at}`).toThrow(BlockFormatError);
    }
  });

  it('refuses a block stored under another record key', () => {
    expect(() => KeyBlock.verified(blockRecordKey(toBinary(key(2))), block.bytes)).toThrow(BlockFormatError);
  });

  it('refuses a truncated block', () => {
    expect(() => KeyBlock.verified(recordKey, block.bytes.subarray(0, block.bytes.length - 1))).toThrow(
      BlockFormatError,
    );
  });
});

describe('BlockDirectory', () => {
  it('finds the block whose interval holds a key: the last first key at or before it', () => {
    const d = new BlockDirectory();
    for (const f of ['b', 'f', 'm']) d.append(f);
    d.setLastKey('p');
    expect(['a', 'b', 'c', 'f', 'l', 'm', 'z'].map((k) => d.find(k))).toEqual([-1, 0, 0, 1, 1, 2, 2]);
    expect(d.lastKey).toBe('p');
  });

  it('replaces blocks, including before the first, and drops emptied ones', () => {
    const d = new BlockDirectory();
    for (const f of ['b', 'f', 'm']) d.append(f);
    d.replace(
      new Map([
        [-1, ['a']],
        [0, ['c', 'd']],
        [1, []],
      ]),
    );
    expect([0, 1, 2, 3].map((i) => d.first(i))).toEqual(['a', 'c', 'd', 'm']);
    expect(d.size).toBe(4);
  });
});

describe('BlockBuilder with a BufferPool', () => {
  const value = (i: number) => new Uint8Array(100).fill(i);

  it('takes its next buffer from the pool: a buffer given back is written again', () => {
    const pool = new BufferPool();
    const builder = new BlockBuilder(1024, pool);
    for (let i = 0; i < 5; i++) builder.add(key(i), value(i));
    const first = builder.takeBatch();
    expect(first.seen).toBe(false);
    expect(first.blocks.map((b) => b.get(toBinary(key(2)))?.[0])).toEqual([2]);
    pool.give(first.buffer);
    expect(pool.size).toBe(1);
    // The buffer lent to the builder when it took `first` is the one given back only at the
    // following take, so write two batches.
    for (let i = 0; i < 5; i++) builder.add(key(10 + i), value(10 + i));
    const second = builder.takeBatch();
    pool.give(second.buffer);
    for (let i = 0; i < 5; i++) builder.add(key(20 + i), value(20 + i));
    const third = builder.takeBatch();
    expect(third.buffer === first.buffer || third.buffer === second.buffer).toBe(true);
    expect(third.blocks[0]!.get(toBinary(key(22)))?.[0]).toBe(22);
  });

  it('reports a batch whose buffer a read saw into, until the buffer is replaced', () => {
    const builder = new BlockBuilder(1024, new BufferPool());
    builder.add(key(1), value(1));
    expect(builder.get(toBinary(key(9)))).toBeUndefined();
    expect(builder.get(toBinary(key(1)))?.[0]).toBe(1);
    expect(builder.takeBatch().seen).toBe(true);
    builder.add(key(2), value(2));
    expect(builder.takeBatch().seen).toBe(false);
    // A read, then growth past the buffer: the view stays in the old buffer, which is dropped.
    builder.add(key(3), value(3));
    expect(builder.get(toBinary(key(3)))?.[0]).toBe(3);
    for (let i = 4; i < 40; i++) builder.add(key(i), value(i));
    expect(builder.takeBatch().seen).toBe(false);
  });

  it('gives back the buffer it outgrew, unless a read saw into it', () => {
    for (const read of [false, true]) {
      const pool = new BufferPool();
      const builder = new BlockBuilder(1024, pool);
      builder.add(key(0), value(0));
      if (read) expect(builder.get(toBinary(key(0)))?.[0]).toBe(0);
      for (let i = 1; i < 15; i++) builder.add(key(i), value(i)); // 1.7 KB: one growth
      expect(pool.size).toBe(read ? 0 : 1);
      expect(builder.take()[0]!.get(toBinary(key(14)))?.[0]).toBe(14);
    }
  });

  it('keeps its biggest buffers up to its capacity, and hands out the biggest', () => {
    const pool = new BufferPool(2);
    for (const n of [20, 10, 30]) pool.give(new ArrayBuffer(n));
    // Full at 20 and 10: 30 takes the place of 10.
    expect(pool.size).toBe(2);
    expect(pool.take(15).length).toBe(30);
    // The one left (20) is not big enough: a new one.
    expect(pool.take(25).length).toBe(25);
    expect(pool.take(5).length).toBe(20);
    expect(pool.size).toBe(0);
    // A buffer smaller than every kept one is dropped when full.
    for (const n of [40, 50, 8]) pool.give(new ArrayBuffer(n));
    expect([pool.take(1).length, pool.take(1).length]).toEqual([50, 40]);
  });
});

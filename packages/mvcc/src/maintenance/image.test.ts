import { describe, expect, it } from 'vitest';
import { utf8 } from '../bytes.js';
import { decodeU64 } from '../codec.js';
import { KVStore, SCHEMA } from '../kvstore.js';
import { MemoryBackend } from '../memory-backend.js';
import { ImageRevision, isVolatile, MetaKey } from './image.js';

describe('image', () => {
  it('names the meta entries exactly as kvstore.ts writes them', async () => {
    const backend = new MemoryBackend();
    const s = await KVStore.open(backend);
    for (let i = 0; i < 4; i++) s.put({ key: utf8('a'), value: utf8(`${i}`) });
    s.setConsistentIndex(9);
    await s.compact(3);
    await s.commit();
    const u64 = (k: Uint8Array) => decodeU64(backend.get(k)!);
    expect(new TextDecoder().decode(backend.get(MetaKey.schema))).toBe(SCHEMA);
    expect(u64(MetaKey.currentRevision)).toBe(s.revision);
    expect(u64(MetaKey.consistentIndex)).toBe(9);
    expect(u64(MetaKey.scheduledCompactRevision)).toBe(3);
    expect(u64(MetaKey.finishedCompactRevision)).toBe(3);
  });

  it('treats only the consistent index and the finished compaction as volatile', () => {
    expect(isVolatile(MetaKey.consistentIndex)).toBe(true);
    expect(isVolatile(MetaKey.finishedCompactRevision)).toBe(true);
    expect(isVolatile(MetaKey.scheduledCompactRevision)).toBe(false);
    expect(isVolatile(MetaKey.currentRevision)).toBe(false);
    expect(isVolatile(MetaKey.schema)).toBe(false);
  });

  it('reads an image revision as KVStore.open does', async () => {
    const backend = new MemoryBackend();
    const s = await KVStore.open(backend);
    for (let i = 0; i < 6; i++) s.put({ key: utf8(`k${i}`), value: utf8('v') });
    s.deleteRange({ key: utf8('k0'), rangeEnd: utf8('k9') });
    await s.commit();
    const r = new ImageRevision();
    for await (const [k, v] of backend.iterate(new Uint8Array([0]), new Uint8Array([0xff]))) r.add(k, v);
    expect(r.revision).toBe(s.revision);
    expect(new ImageRevision().revision).toBe(1);
  });
});

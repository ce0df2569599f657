/**
 * Snapshotter.create racing a snapshot received from the leader: a snapshot due at an applied
 * index that the installed snapshot already covers is skipped, not an error (it used to throw
 * SnapOutOfDateError from a path nobody awaited and end the process — found by the simulator).
 */

import { MvccStore } from '@tsetcd/mvcc';
import { EMPTY_CONF_STATE, type Index, MemoryStorage, type Term } from '@tsetcd/raft';
import { describe, expect, it } from 'vitest';
import { Snapshotter } from './snapshotter.js';

describe('Snapshotter.create', () => {
  it('skips an index that a snapshot installed meanwhile covers', async () => {
    const store = await MvccStore.open();
    try {
      const memoryStorage = new MemoryStorage();
      const snapshotter = new Snapshotter({
        store,
        memoryStorage,
        raftStorage: undefined,
        confState: () => EMPTY_CONF_STATE,
        snapshotCount: 10,
        catchUpEntries: 5,
        onInstalled: async () => {},
        logger: () => {},
        storeLocation: 'memory',
      });
      // The raft loop installed the leader's snapshot at 100 before the applier's due one at 50.
      memoryStorage.applySnapshot({
        metadata: { index: 100 as Index, term: 3 as Term, confState: EMPTY_CONF_STATE },
        data: new Uint8Array(),
      });
      await expect(snapshotter.create(50)).resolves.toBeUndefined();
      expect(memoryStorage.snapshot().metadata.index).toBe(100);
      expect(snapshotter.index).toBe(100);
    } finally {
      await store.close();
    }
  });
});

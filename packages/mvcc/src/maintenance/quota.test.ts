import { describe, expect, it } from 'vitest';
import { utf8 } from '../bytes.js';
import { KVStore } from '../kvstore.js';
import { MemoryBackend } from '../memory-backend.js';
import { DEFAULT_QUOTA_BACKEND_BYTES, KV_OVERHEAD, putCost, Quota, txnCost } from './quota.js';

describe('Quota', () => {
  it('defaults to etcd 2 GiB; 0 means default, negative means no quota', async () => {
    const store = await KVStore.open(new MemoryBackend());
    expect(DEFAULT_QUOTA_BACKEND_BYTES).toBe(2 * 1024 ** 3);
    expect(new Quota(store).quotaBackendBytes).toBe(DEFAULT_QUOTA_BACKEND_BYTES);
    expect(new Quota(store, { quotaBackendBytes: 0 }).quotaBackendBytes).toBe(DEFAULT_QUOTA_BACKEND_BYTES);
    expect(await new Quota(store, { quotaBackendBytes: -1 }).available(1e15)).toBe(true);
  });

  it('admits a request while size + cost <= quota; free requests always', async () => {
    const store = await KVStore.open(new MemoryBackend());
    store.put({ key: utf8('a'), value: new Uint8Array(1000) });
    const size = await store.backend.sizeBytes();
    const quota = new Quota(store, { quotaBackendBytes: size + 300 });
    expect(await quota.available(300)).toBe(true);
    expect(await quota.available(301)).toBe(false);
    expect(await quota.available(0)).toBe(true);
  });

  it('estimates costs as etcd: key + value + overhead; a txn costs its costlier branch', () => {
    const put = { key: utf8('key'), value: utf8('value') };
    expect(putCost(put)).toBe(KV_OVERHEAD + 8);
    expect(putCost({ key: utf8('key') })).toBe(KV_OVERHEAD + 3);
    const nested = { compare: [], success: [{ type: 'put' as const, request: put }], failure: [] };
    expect(
      txnCost({
        compare: [],
        success: [
          { type: 'put', request: put },
          { type: 'deleteRange', request: { key: utf8('x') } },
        ],
        failure: [
          { type: 'put', request: put },
          { type: 'txn', request: nested },
        ],
      }),
    ).toBe(2 * putCost(put));
    expect(
      txnCost({ compare: [], success: [{ type: 'range', request: { key: utf8('x') } }], failure: [] }),
    ).toBe(0);
  });
});

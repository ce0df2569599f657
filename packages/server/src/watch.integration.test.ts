/**
 * The Watch service of a served member, through a grpc-js client built from our .proto files and
 * through the real etcdctl 3.4 (when installed): many watches on one stream, cancel, progress,
 * compaction, prev_kv, filters, fragments — with the responses etcd 3.4 sends (checked against a
 * real etcd 3.4.23: watch IDs from 0, ID -1 for progress and failed creates, a compaction cancel
 * without header revision or reason).
 */

import { type ChildProcess, spawn } from 'node:child_process';
import { type ClientDuplexStream, Metadata } from '@grpc/grpc-js';
import { afterEach, describe, expect, it } from 'vitest';
import { type Decoded, hasEtcdctl, type Served, serve } from './test/harness.js';

let s: Served | undefined;
afterEach(async () => {
  await s?.close();
  s = undefined;
});

const b = (x: string) => Buffer.from(x);

/** A Watch stream whose responses are collected; `next()` waits for the next one. */
function openStream(served: Served, metadata = new Metadata()) {
  const client = served.client('Watch') as unknown as {
    Watch(md: Metadata): ClientDuplexStream<object, Decoded>;
  };
  const call = client.Watch(metadata);
  const got: Decoded[] = [];
  const waiters: (() => void)[] = [];
  let read = 0;
  call.on('data', (r: Decoded) => {
    got.push(r);
    for (const w of waiters.splice(0)) w();
  });
  call.on('error', () => {});
  const next = async (ms = 3000): Promise<Decoded> => {
    const deadline = Date.now() + ms;
    while (read >= got.length) {
      if (Date.now() > deadline) throw new Error(`no watch response after ${got.length}`);
      await new Promise<void>((resolve) => {
        waiters.push(resolve);
        setTimeout(resolve, 50);
      });
    }
    return got[read++];
  };
  return { call, next, got };
}

describe('Watch over gRPC', () => {
  it('serves many watches on one stream: created, events in order, prev_kv, filters, cancel', async () => {
    s = await serve();
    const kv = s.client('KV');
    const w = openStream(s);
    w.call.write({ createRequest: { key: b('a') } });
    const c0 = await w.next();
    expect(c0).toMatchObject({ watchId: '0', created: true, canceled: false });
    expect(c0.header.memberId).toBe(s.node.id.toString());
    w.call.write({ createRequest: { key: b('a'), rangeEnd: b('b'), prevKv: true, watchId: 7 } });
    expect(await w.next()).toMatchObject({ watchId: '7', created: true });
    w.call.write({ createRequest: { key: b('a'), rangeEnd: b('b'), filters: ['NOPUT'] } });
    expect(await w.next()).toMatchObject({ watchId: '1', created: true });
    // A duplicate client-chosen ID and an empty range: created + canceled, watch ID -1 (etcd 3.4).
    w.call.write({ createRequest: { key: b('a'), watchId: 7 } });
    expect(await w.next()).toMatchObject({
      watchId: '-1',
      created: true,
      canceled: true,
      cancelReason: 'mvcc: duplicate watch ID provided on the WatchStream',
    });
    w.call.write({ createRequest: { key: b('z'), rangeEnd: b('a') } });
    expect(await w.next()).toMatchObject({
      watchId: '-1',
      canceled: true,
      cancelReason: 'mvcc: watcher range is empty',
    });

    await s.call(kv, 'Put', { key: b('a'), value: b('1') }); // rev 2
    await s.call(kv, 'Put', { key: b('ab'), value: b('2') }); // rev 3
    await s.call(kv, 'Put', { key: b('a'), value: b('3') }); // rev 4
    await s.call(kv, 'DeleteRange', { key: b('ab') }); // rev 5
    const byWatch = new Map<string, Decoded[]>();
    for (let i = 0; i < 2 + 4 + 1; i++) {
      const r = await w.next();
      byWatch.set(r.watchId, [...(byWatch.get(r.watchId) ?? []), r]);
    }
    const w0 = byWatch.get('0')!;
    expect(w0.map((r) => r.header.revision)).toEqual(['2', '4']);
    expect(w0.map((r) => r.events[0].kv.value.toString())).toEqual(['1', '3']);
    expect(w0[0].events[0].prevKv).toBeNull();
    const w7 = byWatch.get('7')!;
    expect(w7.map((r) => r.header.revision)).toEqual(['2', '3', '4', '5']);
    expect(w7[2].events[0].prevKv.value.toString()).toBe('1');
    expect(w7[3].events[0]).toMatchObject({ type: 'DELETE' });
    expect(w7[3].events[0].prevKv.value.toString()).toBe('2');
    const w1 = byWatch.get('1')!; // NOPUT: only the delete
    expect(w1).toHaveLength(1);
    expect(w1[0].events[0]).toMatchObject({ type: 'DELETE' });

    w.call.write({ cancelRequest: { watchId: 7 } });
    expect(await w.next()).toMatchObject({ watchId: '7', canceled: true, created: false });
    w.call.write({ cancelRequest: { watchId: 99 } }); // unknown: no answer
    await s.call(kv, 'Put', { key: b('ab'), value: b('x') }); // rev 6: only watch 7 would see it
    await s.call(kv, 'Put', { key: b('a'), value: b('y') }); // rev 7
    const r = await w.next();
    expect(r).toMatchObject({ watchId: '0' });
    expect(r.header.revision).toBe('7');
    w.call.cancel();
  });

  it('answers a progress request with one response of watch ID -1 at a revision every watch has seen', async () => {
    s = await serve();
    const kv = s.client('KV');
    const w = openStream(s);
    w.call.write({ progressRequest: {} }); // no watches: answered at once
    expect(await w.next()).toMatchObject({ watchId: '-1', header: { revision: '1' }, events: [] });
    w.call.write({ createRequest: { key: b('p') } });
    w.call.write({ createRequest: { key: b('q'), startRevision: 1 } });
    await w.next();
    await w.next();
    await s.call(kv, 'Put', { key: b('p'), value: b('1') });
    await s.call(kv, 'Put', { key: b('other'), value: b('1') });
    expect(await w.next()).toMatchObject({ watchId: '0', header: { revision: '2' } });
    w.call.write({ progressRequest: {} });
    const p = await w.next();
    expect(p).toMatchObject({ watchId: '-1', created: false, canceled: false, events: [] });
    expect(p.header.revision).toBe('3');
    await new Promise((r) => setTimeout(r, 100));
    expect(w.got).toHaveLength(5); // exactly one progress response
    w.call.cancel();
  });

  it('cancels a watch from a compacted revision with compact_revision, as etcd 3.4', async () => {
    s = await serve();
    const kv = s.client('KV');
    for (const v of ['1', '2', '3']) await s.call(kv, 'Put', { key: b('c'), value: b(v) });
    await s.call(kv, 'Compact', { revision: 3 });
    const w = openStream(s);
    w.call.write({ createRequest: { key: b('c'), startRevision: 2 } });
    expect(await w.next()).toMatchObject({ watchId: '0', created: true });
    const c = await w.next();
    expect(c).toMatchObject({ watchId: '0', canceled: true, compactRevision: '3', cancelReason: '' });
    expect(c.header.revision).toBe('0');
    // From the compaction revision on, history is replayed.
    w.call.write({ createRequest: { key: b('c'), startRevision: 3 } });
    expect(await w.next()).toMatchObject({ watchId: '1', created: true });
    const replay = await w.next();
    expect(replay.events[0].kv.value.toString()).toBe('2');
    w.call.cancel();
  });

  it('keeps the ID of a watch a compaction cancelled until the client cancels it, as etcd 3.4', async () => {
    s = await serve();
    const kv = s.client('KV');
    for (const v of ['1', '2', '3']) await s.call(kv, 'Put', { key: b('c'), value: b(v) });
    await s.call(kv, 'Compact', { revision: 3 });
    const w = openStream(s);
    w.call.write({ createRequest: { key: b('c'), startRevision: 2, watchId: 1 } });
    expect(await w.next()).toMatchObject({ watchId: '1', created: true });
    expect(await w.next()).toMatchObject({ watchId: '1', canceled: true, compactRevision: '3' });
    // The ID stays taken: a create asking for it is a duplicate, the server's picks skip it.
    w.call.write({ createRequest: { key: b('d'), watchId: 1 } });
    expect(await w.next()).toMatchObject({
      watchId: '-1',
      created: true,
      canceled: true,
      cancelReason: 'mvcc: duplicate watch ID provided on the WatchStream',
    });
    w.call.write({ createRequest: { key: b('d') } });
    expect(await w.next()).toMatchObject({ watchId: '0', created: true });
    w.call.write({ createRequest: { key: b('d') } });
    expect(await w.next()).toMatchObject({ watchId: '2', created: true });
    // A progress request does not wait for it.
    w.call.write({ progressRequest: {} });
    expect(await w.next()).toMatchObject({ watchId: '-1', header: { revision: '4' } });
    // The client's cancel is answered, and frees the ID.
    w.call.write({ cancelRequest: { watchId: 1 } });
    expect(await w.next()).toMatchObject({ watchId: '1', canceled: true, header: { revision: '4' } });
    w.call.write({ createRequest: { key: b('d'), watchId: 1 } });
    expect(await w.next()).toMatchObject({ watchId: '1', created: true, canceled: false });
    w.call.cancel();
  });

  it('reports an empty range before a duplicate ID, in etcd order', async () => {
    s = await serve();
    const w = openStream(s);
    w.call.write({ createRequest: { key: b('a'), watchId: 2 } });
    expect(await w.next()).toMatchObject({ watchId: '2', created: true });
    w.call.write({ createRequest: { key: b('k'), rangeEnd: b('a'), watchId: 2 } });
    expect(await w.next()).toMatchObject({
      watchId: '-1',
      canceled: true,
      cancelReason: 'mvcc: watcher range is empty',
    });
    w.call.cancel();
  });

  it('splits a large response into fragments when asked, etcd-style', async () => {
    s = await serve({ maxRequestBytes: 64 * 1024 });
    const kv = s.client('KV');
    const big = Buffer.alloc(20 * 1024, 'x');
    const keys = ['f1', 'f2', 'f3'];
    for (const k of keys) await s.call(kv, 'Put', { key: b(k), value: big });
    const w = openStream(s);
    // With prev_kv each event carries ~40 KiB: the 3 events of one txn exceed the 64 KiB limit.
    w.call.write({ createRequest: { key: b('f'), rangeEnd: b('g'), fragment: true, prevKv: true } });
    await w.next();
    await s.call(kv, 'Txn', { success: keys.map((k) => ({ requestPut: { key: b(k), value: big } })) });
    const parts: Decoded[] = [];
    do parts.push(await w.next());
    while (parts[parts.length - 1].fragment);
    expect(parts.length).toBeGreaterThan(1);
    expect(parts.slice(0, -1).every((p) => p.fragment === true)).toBe(true);
    expect(new Set(parts.map((p) => p.header.revision)).size).toBe(1);
    expect(parts.flatMap((p) => p.events.map((e: Decoded) => e.kv.key.toString()))).toEqual(keys);
    w.call.cancel();
  });

  it('answers a create the user may not read with created + canceled, and keeps the stream', async () => {
    s = await serve();
    const auth = s.node.auth;
    await auth.userAdd('root', 'root');
    await auth.roleAdd('root');
    await auth.userGrantRole('root', 'root');
    await auth.userAdd('u', 'u');
    await auth.roleAdd('r');
    await auth.roleGrantPermission('r', 'READ', 'ok', { prefix: true });
    await auth.userGrantRole('u', 'r');
    await auth.enable();
    const { token } = await auth.authenticate('u', 'u');
    const md = new Metadata();
    md.set('token', token);
    const w = openStream(s, md);
    w.call.write({ createRequest: { key: b('secret'), watchId: 5 } });
    expect(await w.next()).toMatchObject({
      watchId: '-1',
      created: true,
      canceled: true,
      cancelReason: 'rpc error: code = PermissionDenied desc = etcdserver: permission denied',
    });
    w.call.write({ createRequest: { key: b('ok1') } });
    expect(await w.next()).toMatchObject({ watchId: '0', created: true, canceled: false });
    w.call.cancel();
  });

  it('cancels every watch when the stream ends', async () => {
    s = await serve();
    const w = openStream(s);
    w.call.write({ createRequest: { key: b('x') } });
    w.call.write({ createRequest: { key: b('y') } });
    await w.next();
    await w.next();
    const watchable = s.node.parts.store.watchable;
    expect(watchable.stats().synced).toBe(2);
    w.call.cancel();
    const deadline = Date.now() + 2000;
    while (watchable.stats().synced !== 0 && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 20));
    expect(watchable.stats()).toEqual({ synced: 0, unsynced: 0, victims: 0 });
  });
});

/** etcdctl running in the background until stopped; its output so far. */
function etcdctlBackground(served: Served, ...args: string[]) {
  const child: ChildProcess = spawn('etcdctl', [`--endpoints=${served.endpoint}`, ...args], {
    env: { ...process.env, ETCDCTL_API: '3' },
  });
  let stdout = '';
  let stderr = '';
  let status: number | null | undefined;
  child.stdout!.on('data', (d: Buffer) => {
    stdout += d.toString();
  });
  child.stderr!.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  const exited = new Promise<void>((resolve) =>
    child.on('close', (code) => {
      status = code;
      resolve();
    }),
  );
  return {
    get stdout() {
      return stdout;
    },
    get stderr() {
      return stderr;
    },
    get status() {
      return status;
    },
    async until(pred: () => boolean, ms = 8000): Promise<void> {
      const deadline = Date.now() + ms;
      while (!pred() && Date.now() < deadline && status === undefined)
        await new Promise((r) => setTimeout(r, 25));
    },
    async stop(): Promise<void> {
      if (status === undefined) child.kill('SIGTERM');
      await exited;
    },
  };
}

describe.skipIf(!hasEtcdctl)('Watch through the real etcdctl', () => {
  it('etcdctl watch prints puts and deletes as etcd, with --prefix --prev-kv and -w json', {
    timeout: 30_000,
  }, async () => {
    s = await serve();
    const kv = s.client('KV');
    // From the next revision, so nothing is missed while etcdctl connects.
    const from = `--rev=${s.node.parts.store.revision + 1}`;
    const plain = etcdctlBackground(s, 'watch', 'wk', from);
    const prefix = etcdctlBackground(s, 'watch', 'wp', '--prefix', '--prev-kv', from);
    const json = etcdctlBackground(s, 'watch', 'wk', '-w', 'json', from);
    try {
      await s.call(kv, 'Put', { key: b('wk'), value: b('v1') });
      await s.call(kv, 'Put', { key: b('wp1'), value: b('a') });
      await s.call(kv, 'Put', { key: b('wp1'), value: b('b') });
      await s.call(kv, 'DeleteRange', { key: b('wk') });
      await s.call(kv, 'DeleteRange', { key: b('wp1') });
      // What etcd 3.4.23 prints for the same commands and writes.
      const plainWant = 'PUT\nwk\nv1\nDELETE\nwk\n\n';
      const prefixWant = 'PUT\nwp1\na\nPUT\nwp1\na\nwp1\nb\nDELETE\nwp1\nb\nwp1\n\n';
      await plain.until(() => plain.stdout === plainWant);
      await prefix.until(() => prefix.stdout === prefixWant);
      await json.until(() => json.stdout.split('\n').length >= 3);
      expect(plain.stdout).toBe(plainWant);
      expect(prefix.stdout).toBe(prefixWant);
      const lines = json.stdout
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l));
      // One response per revision when the watcher keeps up (as etcd prints it); a watcher that
      // catches up may get several revisions in one response, so compare the events in order.
      expect(lines[0]).toMatchObject({
        Header: { member_id: expect.any(Number) },
        CompactRevision: 0,
        Canceled: false,
        Created: false,
      });
      const events = lines.flatMap((l: { Events: unknown[] }) => l.Events);
      expect(events).toMatchObject([
        { kv: { key: 'd2s=', create_revision: 2, mod_revision: 2, version: 1, value: 'djE=' } },
        { type: 1, kv: { key: 'd2s=', mod_revision: 5 } },
      ]);
      for (const l of lines as {
        Header: { revision: number };
        Events: { kv: { mod_revision: number } }[];
      }[]) {
        for (const e of l.Events) expect(l.Header.revision).toBeGreaterThanOrEqual(e.kv.mod_revision);
      }
    } finally {
      await Promise.all([plain.stop(), prefix.stop(), json.stop()]);
    }
  });

  it('etcdctl watch from a compacted revision fails as with etcd', { timeout: 30_000 }, async () => {
    s = await serve();
    const kv = s.client('KV');
    for (const v of ['1', '2', '3']) await s.call(kv, 'Put', { key: b('wk'), value: b(v) });
    await s.call(kv, 'Compact', { revision: 3 });
    const w = etcdctlBackground(s, 'watch', 'wk', '--rev=2');
    await w.until(() => false, 8000);
    await w.stop();
    expect(w.status).toBe(5);
    expect(w.stdout + w.stderr).toContain(
      'watch was canceled (etcdserver: mvcc: required revision has been compacted)',
    );
    expect(w.stderr).toContain('Error: watch is canceled by the server');
  });
});

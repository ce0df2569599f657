/**
 * ServiceRegistry: service instances register under `<prefix>/<service>/<instanceId>` with a
 * lease kept alive while they run, and anyone discovers a service as a live view.
 *
 * Registering: grant a lease of `ttl` seconds, put the key with it, keep the lease alive. If the
 * lease is lost (expired while the member was cut off, revoked, keep-alives failing past the TTL),
 * the registry registers again with a new lease, retrying every `retryMs` until it succeeds or
 * the registration is withdrawn — so a registration outlives partitions and leader changes. An
 * instance that dies stops renewing, its lease expires on the leader, and its key disappears.
 *
 * Discovering: one consistent read of the service's prefix, then a watch from the next revision
 * (watchResilient with `initialResync`). Watch events become `added` / `updated` / `removed`; a
 * resync (after compaction) becomes the diff between the view and the re-read state, so the view
 * never misses an instance, never reports one twice, and always equals the store's state at
 * `view.revision`. Not here: health checks and load balancing — the view is the raw membership.
 */

import type { Event, KeyValue, LeaseId } from '@tsetcd/mvcc';
import { EventEmitter } from 'eventemitter3';
import { type Clock, systemClock } from '../clock.js';
import { CoreError } from '../errors.js';
import type { Bytes } from '../node/kv-client.js';
import type { LeaseKeepAlive } from '../node/lease-client.js';
import { NodeStoppedError } from '../node-errors.js';
import {
  type ClientSource,
  clientOf,
  DEFAULT_WATCH_RETRY_MS,
  delay,
  type ResilientWatchItem,
  watchResilient,
} from './resilient-watch.js';

/** Key prefix of registrations unless told otherwise. */
export const DEFAULT_REGISTRY_PREFIX = 'services';

/** Options of a ServiceRegistry. */
export interface ServiceRegistryOptions {
  /** Key prefix; registrations live at `<prefix>/<service>/<instanceId>`. Default DEFAULT_REGISTRY_PREFIX. */
  readonly prefix?: string;
  /** The clock retries wait on (default the system clock; a test cluster passes its own). */
  readonly clock?: Clock;
  /** Pause between attempts to register again or to reopen a watch, ms. */
  readonly retryMs?: number;
}

/** One registered instance, as a view sees it. */
export interface ServiceInstance {
  readonly service: string;
  readonly instanceId: string;
  readonly key: string;
  readonly value: Uint8Array;
  /** Revision of the write that set `value` (a re-registration changes it). */
  readonly modRevision: number;
  readonly lease: LeaseId;
}

/** Events of a ServiceView. */
export interface ServiceViewEvents {
  /** An instance appeared. */
  added: (instance: ServiceInstance) => void;
  /** An instance disappeared (deregistered, or its lease expired). */
  removed: (instance: ServiceInstance) => void;
  /** An instance's key was written again (new value or new lease). */
  updated: (instance: ServiceInstance, previous: ServiceInstance) => void;
  /** The view was rebuilt from a re-read after a compaction; diffs were emitted as above. */
  resync: (revision: number) => void;
  /** The watch behind the view failed for good (e.g. its member closed); the view is frozen. */
  error: (err: Error) => void;
}

/** A live list of one service's instances; see the file comment. */
export class ServiceView extends EventEmitter<ServiceViewEvents> {
  private readonly byId = new Map<string, ServiceInstance>();
  private rev = 0;
  private readonly abort = new AbortController();

  /** @internal Made by ServiceRegistry.discover. */
  constructor(
    readonly service: string,
    private readonly keyPrefix: string,
  ) {
    super();
  }

  /** The instances now, by instance ID. */
  instances(): ReadonlyMap<string, ServiceInstance> {
    return this.byId;
  }

  /** The store revision the view reflects. */
  get revision(): number {
    return this.rev;
  }

  /** Stops following the service. */
  close(): void {
    this.abort.abort();
  }

  /** @internal */
  get signal(): AbortSignal {
    return this.abort.signal;
  }

  /** @internal Applies one item of the watch; `initial` = the first read, emitted as nothing. */
  apply(item: ResilientWatchItem, initial: boolean): void {
    if (item.type === 'events') {
      for (const e of item.events) this.applyEvent(e);
    } else {
      const fresh = new Map<string, ServiceInstance>();
      for (const kv of item.kvs) fresh.set(this.idOf(kv.key), this.instance(kv));
      for (const [id, old] of [...this.byId]) {
        if (fresh.has(id)) continue;
        this.byId.delete(id);
        this.emit('removed', old);
      }
      for (const [id, inst] of fresh) {
        const old = this.byId.get(id);
        this.byId.set(id, inst);
        if (initial) continue;
        if (old === undefined) this.emit('added', inst);
        else if (old.modRevision !== inst.modRevision) this.emit('updated', inst, old);
      }
      if (!initial) this.emit('resync', item.revision);
    }
    this.rev = Math.max(this.rev, item.revision);
  }

  private applyEvent(e: Event): void {
    const id = this.idOf(e.kv.key);
    const old = this.byId.get(id);
    if (old !== undefined && e.kv.modRevision <= old.modRevision) return; // already reflected
    if (e.type === 'DELETE') {
      if (old === undefined) return;
      this.byId.delete(id);
      this.emit('removed', old);
      return;
    }
    const inst = this.instance(e.kv);
    this.byId.set(id, inst);
    if (old === undefined) this.emit('added', inst);
    else this.emit('updated', inst, old);
  }

  private idOf(key: Uint8Array): string {
    return decoder.decode(key).slice(this.keyPrefix.length);
  }

  private instance(kv: KeyValue): ServiceInstance {
    return {
      service: this.service,
      instanceId: this.idOf(kv.key),
      key: decoder.decode(kv.key),
      value: kv.value,
      modRevision: kv.modRevision,
      lease: kv.lease,
    };
  }
}

/** Events of a ServiceRegistry. */
export interface ServiceRegistryEvents {
  /** An instance is registered (first time, or again after its lease was lost). */
  registered: (service: string, instanceId: string, lease: LeaseId) => void;
  /** An instance's lease was lost; the registry is registering it again. */
  lost: (service: string, instanceId: string, err: Error) => void;
  /** Registering again failed for good (e.g. the member closed); the instance stays unregistered. */
  error: (err: Error, service: string, instanceId: string) => void;
}

/** Options of register. */
export interface RegisterOptions {
  /** Lease TTL, seconds. */
  readonly ttl: number;
}

interface Registration {
  readonly service: string;
  readonly instanceId: string;
  readonly key: string;
  readonly value: Bytes;
  readonly ttl: number;
  lease: LeaseId | undefined;
  keepAlive: LeaseKeepAlive | undefined;
  withdrawn: boolean;
}

/** Registers service instances and discovers services; see the file comment. */
export class ServiceRegistry extends EventEmitter<ServiceRegistryEvents> implements AsyncDisposable {
  private readonly prefix: string;
  private readonly clock: Clock;
  private readonly retryMs: number;
  private readonly registrations = new Map<string, Registration>();
  private readonly views = new Set<ServiceView>();
  private closed = false;

  constructor(
    private readonly source: ClientSource,
    opts: ServiceRegistryOptions = {},
  ) {
    super();
    this.prefix = (opts.prefix ?? DEFAULT_REGISTRY_PREFIX).replace(/\/+$/, '');
    this.clock = opts.clock ?? systemClock;
    this.retryMs = opts.retryMs ?? DEFAULT_WATCH_RETRY_MS;
  }

  /** The key an instance is registered at. */
  keyOf(service: string, instanceId: string): string {
    return `${this.servicePrefix(service)}${checkName('instanceId', instanceId)}`;
  }

  /** Registers (or re-registers, replacing the value) an instance; resolves once its key is written. */
  async register(
    service: string,
    instanceId: string,
    value: Bytes,
    opts: RegisterOptions,
  ): Promise<{ readonly lease: LeaseId }> {
    if (this.closed) throw new NodeStoppedError();
    const key = this.keyOf(service, instanceId);
    const replaced = this.withdraw(key);
    const reg: Registration = {
      service,
      instanceId,
      key,
      value,
      ttl: opts.ttl,
      lease: undefined,
      keepAlive: undefined,
      withdrawn: false,
    };
    this.registrations.set(key, reg);
    try {
      await this.establish(reg);
    } catch (err) {
      if (this.registrations.get(key) === reg) this.registrations.delete(key);
      reg.withdrawn = true;
      throw err;
    }
    // The key now holds the new lease: revoking the old one deletes nothing.
    if (replaced?.lease !== undefined && replaced.lease !== reg.lease) await this.revoke(replaced.lease);
    return { lease: reg.lease! };
  }

  /** Withdraws an instance: stops its keep-alive and revokes its lease, deleting its key. */
  async deregister(service: string, instanceId: string): Promise<void> {
    const reg = this.withdraw(this.keyOf(service, instanceId));
    if (reg?.lease !== undefined) await this.revoke(reg.lease);
  }

  /** A live view of `service`, loaded with its current instances. */
  async discover(service: string): Promise<ServiceView> {
    if (this.closed) throw new NodeStoppedError();
    const keyPrefix = this.servicePrefix(service);
    const view = new ServiceView(service, keyPrefix);
    const items = watchResilient(this.source, keyPrefix, {
      prefix: true,
      initialResync: true,
      clock: this.clock,
      retryMs: this.retryMs,
      signal: view.signal,
    });
    const first = await items.next();
    if (!first.done) view.apply(first.value, true);
    this.views.add(view);
    void (async () => {
      try {
        for await (const item of items) view.apply(item, false);
      } catch (err) {
        view.emit('error', err as Error);
      } finally {
        this.views.delete(view);
      }
    })();
    return view;
  }

  /** Deregisters every instance registered here and closes every view. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const view of this.views) view.close();
    const leases = [...this.registrations.keys()].map((k) => this.withdraw(k)?.lease);
    await Promise.all(leases.map((l) => (l === undefined ? undefined : this.revoke(l))));
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  private servicePrefix(service: string): string {
    return `${this.prefix}/${checkName('service', service)}/`;
  }

  /** Grants a lease, writes the key with it and keeps it alive. */
  private async establish(reg: Registration): Promise<void> {
    const client = clientOf(this.source);
    const grant = await client.lease.grant(reg.ttl);
    if (reg.withdrawn) {
      await this.revoke(grant.id);
      return;
    }
    await client.kv.put(reg.key, reg.value, { lease: grant.id });
    reg.lease = grant.id;
    const ka = client.lease.keepAlive(grant.id);
    reg.keepAlive = ka;
    ka.on('lost', (err) => void this.onLost(reg, ka, err));
    if (reg.withdrawn) ka.close();
    else this.emit('registered', reg.service, reg.instanceId, grant.id);
  }

  /** The lease is gone: register again until it works or the instance is withdrawn. */
  private async onLost(reg: Registration, ka: LeaseKeepAlive, err: Error): Promise<void> {
    if (reg.withdrawn || reg.keepAlive !== ka) return;
    reg.keepAlive = undefined;
    this.emit('lost', reg.service, reg.instanceId, err);
    while (!reg.withdrawn) {
      try {
        await this.establish(reg);
        return;
      } catch (e) {
        if (!this.retryable(e)) {
          this.emit('error', e as Error, reg.service, reg.instanceId);
          return;
        }
      }
      await delay(this.clock, this.retryMs);
    }
  }

  private retryable(err: unknown): boolean {
    if (err instanceof NodeStoppedError) return typeof this.source === 'function';
    return err instanceof CoreError && err.retryable;
  }

  private withdraw(key: string): Registration | undefined {
    const reg = this.registrations.get(key);
    if (reg === undefined) return undefined;
    this.registrations.delete(key);
    reg.withdrawn = true;
    reg.keepAlive?.close();
    reg.keepAlive = undefined;
    return reg;
  }

  /** Revokes a lease, ignoring failures: unrenewed, it expires anyway. */
  private async revoke(lease: LeaseId): Promise<void> {
    try {
      await clientOf(this.source).lease.revoke(lease);
    } catch {
      // Not found (already expired) or the member is gone: the TTL cleans up.
    }
  }
}

const decoder = new TextDecoder();

function checkName(what: string, name: string): string {
  if (name.length === 0 || name.includes('/')) {
    throw new RangeError(`registry: ${what} must be non-empty and contain no '/', got '${name}'`);
  }
  return name;
}

/**
 * etcd's Auth service on a node: enable/disable, authenticate (a simple token, sent back by
 * clients as the `token` metadata), users, roles and key permissions. Errors are the auth
 * store's, which carry etcd's gRPC codes and messages ("etcdserver: user name is empty", …).
 *
 * Does not check permissions itself: the core client the token names does.
 */

import type { NodeResponseHeader, Permission, PermType, TsetcdNode } from '@tsetcd/core';
import type { ServiceImplementation } from '../grpc-server/grpc-server.js';
import { callOptions, clientFor, unary } from './call.js';
import { bytes, headerOut, type Pb } from './convert.js';

const PERM_TYPES: readonly string[] = ['READ', 'WRITE', 'READWRITE'];

function headerOnly(r: { header: NodeResponseHeader }): Pb {
  return { header: headerOut(r.header) };
}

/** authpb.Permission, zero fields left out. */
function permissionOut(p: Permission): Pb {
  const o: Pb = { key: Buffer.from(p.key) };
  if (p.permType !== 'READ') o.permType = p.permType;
  if (p.rangeEnd.length > 0) o.rangeEnd = Buffer.from(p.rangeEnd);
  return o;
}

/** A range end, only when one is given (empty = the single key). */
function rangeEndOpt(v: unknown): { rangeEnd?: Uint8Array } {
  const end = bytes(v);
  return end.length > 0 ? { rangeEnd: end } : {};
}

const str = (v: unknown): string => (typeof v === 'string' ? v : '');

/** The Auth service's handlers. */
export function authService(node: TsetcdNode): ServiceImplementation {
  return {
    AuthEnable: unary<Pb, Pb>(async (_req, call) =>
      headerOnly(await clientFor(node, call.metadata).auth.enable(callOptions(call))),
    ),
    AuthDisable: unary<Pb, Pb>(async (_req, call) =>
      headerOnly(await clientFor(node, call.metadata).auth.disable(callOptions(call))),
    ),
    Authenticate: unary<Pb, Pb>(async (req, call) => {
      const r = await node.client.auth.authenticate(str(req.name), str(req.password), callOptions(call));
      return { header: headerOut(r.header), token: r.token };
    }),
    UserAdd: unary<Pb, Pb>(async (req, call) => {
      const noPassword = (req.options as Pb | null | undefined)?.noPassword === true;
      return headerOnly(
        await clientFor(node, call.metadata).auth.userAdd(str(req.name), str(req.password), {
          ...callOptions(call),
          ...(noPassword ? { noPassword: true } : {}),
        }),
      );
    }),
    UserGet: unary<Pb, Pb>(async (req, call) => {
      const r = await clientFor(node, call.metadata).auth.userGet(str(req.name), callOptions(call));
      return { header: headerOut(r.header), roles: [...r.roles] };
    }),
    UserList: unary<Pb, Pb>(async (_req, call) => {
      const r = await clientFor(node, call.metadata).auth.userList(callOptions(call));
      return { header: headerOut(r.header), users: r.users };
    }),
    UserDelete: unary<Pb, Pb>(async (req, call) =>
      headerOnly(await clientFor(node, call.metadata).auth.userDelete(str(req.name), callOptions(call))),
    ),
    UserChangePassword: unary<Pb, Pb>(async (req, call) =>
      headerOnly(
        await clientFor(node, call.metadata).auth.userChangePassword(
          str(req.name),
          str(req.password),
          callOptions(call),
        ),
      ),
    ),
    UserGrantRole: unary<Pb, Pb>(async (req, call) =>
      headerOnly(
        await clientFor(node, call.metadata).auth.userGrantRole(
          str(req.user),
          str(req.role),
          callOptions(call),
        ),
      ),
    ),
    UserRevokeRole: unary<Pb, Pb>(async (req, call) =>
      headerOnly(
        await clientFor(node, call.metadata).auth.userRevokeRole(
          str(req.name),
          str(req.role),
          callOptions(call),
        ),
      ),
    ),
    RoleAdd: unary<Pb, Pb>(async (req, call) =>
      headerOnly(await clientFor(node, call.metadata).auth.roleAdd(str(req.name), callOptions(call))),
    ),
    RoleGet: unary<Pb, Pb>(async (req, call) => {
      const r = await clientFor(node, call.metadata).auth.roleGet(str(req.role), callOptions(call));
      return { header: headerOut(r.header), perm: r.perm.map(permissionOut) };
    }),
    RoleList: unary<Pb, Pb>(async (_req, call) => {
      const r = await clientFor(node, call.metadata).auth.roleList(callOptions(call));
      return { header: headerOut(r.header), roles: r.roles };
    }),
    RoleDelete: unary<Pb, Pb>(async (req, call) =>
      headerOnly(await clientFor(node, call.metadata).auth.roleDelete(str(req.role), callOptions(call))),
    ),
    RoleGrantPermission: unary<Pb, Pb>(async (req, call) => {
      // etcd 3.4 dereferences a missing perm and crashes; 3.5 refuses it as below.
      if (req.perm === null || req.perm === undefined) throw new TypeError('permission not given');
      const perm = req.perm as Pb;
      const permType = String(perm.permType ?? 'READ');
      if (!PERM_TYPES.includes(permType)) throw new TypeError(`invalid permission type ${permType}`);
      return headerOnly(
        await clientFor(node, call.metadata).auth.roleGrantPermission(
          str(req.name),
          permType as PermType,
          bytes(perm.key),
          { ...callOptions(call), ...rangeEndOpt(perm.rangeEnd) },
        ),
      );
    }),
    RoleRevokePermission: unary<Pb, Pb>(async (req, call) =>
      headerOnly(
        await clientFor(node, call.metadata).auth.roleRevokePermission(str(req.role), bytes(req.key), {
          ...callOptions(call),
          ...rangeEndOpt(req.rangeEnd),
        }),
      ),
    ),
  };
}

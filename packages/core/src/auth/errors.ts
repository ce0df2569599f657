/**
 * The errors of etcd v3's auth store (etcd 3.4 `auth/store.go`), each carrying etcd's Go name and
 * the exact text etcd puts on the wire (`api/v3rpc/rpctypes`), plus the gRPC status code it is
 * sent with. Errors etcd 3.4 does not map to a gRPC status (ErrNoPasswordUser) keep the auth
 * package's own text and travel as `Unknown`, as they do in etcd.
 * Pure. No I/O.
 */

/** The gRPC status codes auth errors are sent with. */
export type AuthGrpcCode =
  | 'InvalidArgument'
  | 'FailedPrecondition'
  | 'PermissionDenied'
  | 'Unauthenticated'
  | 'Unknown';

/** Base class: lets the server map any auth failure to etcd's status and message in one place. */
export abstract class AuthError extends Error {
  /** etcd's Go variable name, e.g. 'ErrUserNotFound': stable, for branching. */
  abstract readonly etcdName: string;
  /** The gRPC status code etcd answers this error with. */
  abstract readonly grpcCode: AuthGrpcCode;
  /** Same as `etcdName`: the repo-wide error `code` convention. */
  get code(): string {
    return this.etcdName;
  }
  /** Auth errors are answers about state, not transient faults: retrying the same call fails again. */
  readonly retryable: boolean = false;
}

/** AuthEnable without a user named 'root'. */
export class RootUserNotExistError extends AuthError {
  readonly etcdName = 'ErrRootUserNotExist';
  readonly grpcCode = 'FailedPrecondition';
  constructor() {
    super('etcdserver: root user does not exist');
    this.name = 'RootUserNotExistError';
  }
}

/** AuthEnable while user 'root' lacks role 'root'. */
export class RootRoleNotExistError extends AuthError {
  readonly etcdName = 'ErrRootRoleNotExist';
  readonly grpcCode = 'FailedPrecondition';
  constructor() {
    super('etcdserver: root user does not have root role');
    this.name = 'RootRoleNotExistError';
  }
}

/** UserAdd of a name already taken. */
export class UserAlreadyExistError extends AuthError {
  readonly etcdName = 'ErrUserAlreadyExist';
  readonly grpcCode = 'FailedPrecondition';
  constructor() {
    super('etcdserver: user name already exists');
    this.name = 'UserAlreadyExistError';
  }
}

/** UserAdd with an empty name; also a permission check with no user (auth on, no token). */
export class UserEmptyError extends AuthError {
  readonly etcdName = 'ErrUserEmpty';
  readonly grpcCode = 'InvalidArgument';
  constructor() {
    super('etcdserver: user name is empty');
    this.name = 'UserEmptyError';
  }
}

/** A user operation names a user that does not exist. */
export class UserNotFoundError extends AuthError {
  readonly etcdName = 'ErrUserNotFound';
  readonly grpcCode = 'FailedPrecondition';
  constructor() {
    super('etcdserver: user name not found');
    this.name = 'UserNotFoundError';
  }
}

/** RoleAdd of a name already taken. */
export class RoleAlreadyExistError extends AuthError {
  readonly etcdName = 'ErrRoleAlreadyExist';
  readonly grpcCode = 'FailedPrecondition';
  constructor() {
    super('etcdserver: role name already exists');
    this.name = 'RoleAlreadyExistError';
  }
}

/** A role operation (or a grant) names a role that does not exist. */
export class RoleNotFoundError extends AuthError {
  readonly etcdName = 'ErrRoleNotFound';
  readonly grpcCode = 'FailedPrecondition';
  constructor() {
    super('etcdserver: role name not found');
    this.name = 'RoleNotFoundError';
  }
}

/** RoleAdd with an empty name. */
export class RoleEmptyError extends AuthError {
  readonly etcdName = 'ErrRoleEmpty';
  readonly grpcCode = 'InvalidArgument';
  constructor() {
    super('etcdserver: role name is empty');
    this.name = 'RoleEmptyError';
  }
}

/** Unknown user or wrong password at Authenticate (deliberately the same answer for both). */
export class AuthFailedError extends AuthError {
  readonly etcdName = 'ErrAuthFailed';
  readonly grpcCode = 'InvalidArgument';
  constructor() {
    super('etcdserver: authentication failed, invalid user ID or password');
    this.name = 'AuthFailedError';
  }
}

/** Authenticate of a user created with the NoPassword option (it may only use TLS common names). */
export class NoPasswordUserError extends AuthError {
  readonly etcdName = 'ErrNoPasswordUser';
  readonly grpcCode = 'Unknown';
  constructor() {
    super('auth: authentication failed, password was given for no password user');
    this.name = 'NoPasswordUserError';
  }
}

/** The user's roles do not cover the requested keys (or the request needs the root role). */
export class PermissionDeniedError extends AuthError {
  readonly etcdName = 'ErrPermissionDenied';
  readonly grpcCode = 'PermissionDenied';
  constructor() {
    super('etcdserver: permission denied');
    this.name = 'PermissionDeniedError';
  }
}

/** UserRevokeRole of a role the user does not have. */
export class RoleNotGrantedError extends AuthError {
  readonly etcdName = 'ErrRoleNotGranted';
  readonly grpcCode = 'FailedPrecondition';
  constructor() {
    super('etcdserver: role is not granted to the user');
    this.name = 'RoleNotGrantedError';
  }
}

/** RoleRevokePermission of a (key, rangeEnd) the role does not have. */
export class PermissionNotGrantedError extends AuthError {
  readonly etcdName = 'ErrPermissionNotGranted';
  readonly grpcCode = 'FailedPrecondition';
  constructor() {
    super('etcdserver: permission is not granted to the role');
    this.name = 'PermissionNotGrantedError';
  }
}

/** Authenticate (or a password check) while auth is disabled. */
export class AuthNotEnabledError extends AuthError {
  readonly etcdName = 'ErrAuthNotEnabled';
  readonly grpcCode = 'FailedPrecondition';
  constructor() {
    super('etcdserver: authentication is not enabled');
    this.name = 'AuthNotEnabledError';
  }
}

/**
 * The token is unknown or expired. The client re-authenticates; a request carrying it is not
 * retryable as is.
 */
export class InvalidAuthTokenError extends AuthError {
  readonly etcdName = 'ErrInvalidAuthToken';
  readonly grpcCode = 'Unauthenticated';
  constructor() {
    super('etcdserver: invalid auth token');
    this.name = 'InvalidAuthTokenError';
  }
}

/** A change that would lock everyone out: deleting user or role 'root', or revoking root from root. */
export class InvalidAuthMgmtError extends AuthError {
  readonly etcdName = 'ErrInvalidAuthMgmt';
  readonly grpcCode = 'InvalidArgument';
  constructor() {
    super('etcdserver: invalid auth management');
    this.name = 'InvalidAuthMgmtError';
  }
}

/**
 * The request was checked against an auth revision older than the store's: users or roles changed
 * after the token was issued. Retryable: the client re-authenticates and sends it again.
 */
export class AuthOldRevisionError extends AuthError {
  readonly etcdName = 'ErrAuthOldRevision';
  readonly grpcCode = 'InvalidArgument';
  override readonly retryable = true;
  constructor() {
    super('etcdserver: revision of auth store is old');
    this.name = 'AuthOldRevisionError';
  }
}

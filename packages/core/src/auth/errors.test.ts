import { describe, expect, it } from 'vitest';
import * as errors from './errors.js';

describe('errors: etcd names and wire messages', () => {
  it.each([
    [errors.RootUserNotExistError, 'ErrRootUserNotExist', 'etcdserver: root user does not exist'],
    [errors.RootRoleNotExistError, 'ErrRootRoleNotExist', 'etcdserver: root user does not have root role'],
    [errors.UserAlreadyExistError, 'ErrUserAlreadyExist', 'etcdserver: user name already exists'],
    [errors.UserEmptyError, 'ErrUserEmpty', 'etcdserver: user name is empty'],
    [errors.UserNotFoundError, 'ErrUserNotFound', 'etcdserver: user name not found'],
    [errors.RoleAlreadyExistError, 'ErrRoleAlreadyExist', 'etcdserver: role name already exists'],
    [errors.RoleNotFoundError, 'ErrRoleNotFound', 'etcdserver: role name not found'],
    [errors.RoleEmptyError, 'ErrRoleEmpty', 'etcdserver: role name is empty'],
    [
      errors.AuthFailedError,
      'ErrAuthFailed',
      'etcdserver: authentication failed, invalid user ID or password',
    ],
    [
      errors.NoPasswordUserError,
      'ErrNoPasswordUser',
      'auth: authentication failed, password was given for no password user',
    ],
    [errors.PermissionDeniedError, 'ErrPermissionDenied', 'etcdserver: permission denied'],
    [errors.RoleNotGrantedError, 'ErrRoleNotGranted', 'etcdserver: role is not granted to the user'],
    [
      errors.PermissionNotGrantedError,
      'ErrPermissionNotGranted',
      'etcdserver: permission is not granted to the role',
    ],
    [errors.AuthNotEnabledError, 'ErrAuthNotEnabled', 'etcdserver: authentication is not enabled'],
    [errors.InvalidAuthTokenError, 'ErrInvalidAuthToken', 'etcdserver: invalid auth token'],
    [errors.InvalidAuthMgmtError, 'ErrInvalidAuthMgmt', 'etcdserver: invalid auth management'],
    [errors.AuthOldRevisionError, 'ErrAuthOldRevision', 'etcdserver: revision of auth store is old'],
  ])('%o', (Cls, etcdName, message) => {
    const e = new Cls();
    expect(e).toBeInstanceOf(errors.AuthError);
    expect(e.etcdName).toBe(etcdName);
    expect(e.code).toBe(etcdName);
    expect(e.message).toBe(message);
  });

  it('only ErrAuthOldRevision is retryable (re-authenticate and resend)', () => {
    expect(new errors.AuthOldRevisionError().retryable).toBe(true);
    expect(new errors.PermissionDeniedError().retryable).toBe(false);
  });
});

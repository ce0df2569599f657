/**
 * The auth module's public surface: the replicated auth state machine, its errors, password
 * hashing (proposer side) and simple tokens. Re-exported by the core package's index.
 */

export {
  AuthStore,
  type AuthStoreOptions,
  type UserAddOptions,
  type UserView,
} from './auth-store.js';
export * from './errors.js';
export {
  DEFAULT_SCRYPT_COST,
  DEFAULT_SCRYPT_N,
  DEFAULT_SCRYPT_P,
  DEFAULT_SCRYPT_R,
  hashPassword,
  type ScryptCost,
  verifyPassword,
} from './password.js';
export { AUTH_BUCKET } from './schema.js';
export {
  DEFAULT_SIMPLE_TOKEN_TTL_MS,
  newSimpleToken,
  newSimpleTokenPrefix,
  type SimpleTokenInfo,
  SimpleTokens,
  type SimpleTokensOptions,
  simpleToken,
} from './token.js';
export {
  type AuthInfo,
  PERM_TYPES,
  type Permission,
  type PermType,
  ROOT_ROLE,
  ROOT_USER,
  type Role,
  type User,
} from './types.js';

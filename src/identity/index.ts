// Identity: users, channel identities, tiers, link codes, profiles, history and erasure.
export {
  IdentityInUseError,
  IdentityStore,
  REDACTED,
  type IdentityStoreOptions,
  type MarkVerifiedInput,
  type RegisterInput,
  type ResolveInput,
} from './identity-store.js';
export {
  LinkCodeCollisionError,
  LinkCodes,
  type LinkCodeData,
  type LinkCodesOptions,
  type RedeemResult,
} from './link-codes.js';
export { isWhoAmI, whoAmIText } from './who-am-i.js';
export {
  ANONYMOUS_PREFIX,
  addressOfIdentity,
  channelOfIdentity,
  type CustomData,
  type HistoryEntry,
  type ResolvedUser,
  type StoredHistoryEntry,
  type Tier,
  type UserIdentityView,
  type UserView,
  type VerifiedVia,
} from './types.js';

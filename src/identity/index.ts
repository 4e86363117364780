// Identity rules: tiers, link codes, who-am-i (their Redis side is src/store/identity-store.ts and link-code-store.ts).
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
  type OperatorUserView,
  type UserIdentityView,
  type VerifiedVia,
} from './types.js';

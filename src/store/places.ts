// The place each kind of sealed value belongs to (the associated data it is sealed with): one function per field.
import type { SealedPlace } from './cipher.js';
import type { UserScope } from './identity-keys.js';

function user(scope: UserScope, field: string): SealedPlace {
  return ['user', scope.workspace, scope.externalId ?? null, scope.userId, field];
}

export const places = {
  /** A conversation's inbox events, dialog state or outbox replies. */
  conversation: (cid: string, field: 'inbox' | 'state' | 'outbox'): SealedPlace => [
    'conversation',
    cid,
    field,
  ],
  /** What an outbound call we placed runs (see `OutboundCalls`). */
  outboundCall: (callSid: string): SealedPlace => ['outbound-call', callSid],
  /** The rendered answer to one voice turn. */
  turn: (cid: string, turn: number): SealedPlace => ['conversation', cid, 'turn', String(turn)],
  /** A conversation's summary in its workspace's live index (it names the channel identity). */
  liveSummary: (workspace: string, cid: string): SealedPlace => ['live', workspace, cid],
  /** Who a user named in a workspace's audit log is, by the entry's reference to them. */
  auditName: (workspace: string, user: string): SealedPlace => ['audit', workspace, user],
  /** One cached token of a user for one auth component. */
  token: (scope: UserScope, component: string): SealedPlace => [
    'token',
    scope.workspace,
    scope.externalId ?? null,
    scope.userId,
    component,
  ],
  profile: (scope: UserScope): SealedPlace => user(scope, 'profile'),
  /** An entry of a verified user's identity list. */
  identityLink: (scope: UserScope): SealedPlace => user(scope, 'identity'),
  userHistory: (scope: UserScope): SealedPlace => user(scope, 'history'),
  /**
   * A channel identity's own address. Opened before the identity is known, so bound to the workspace
   * only: the reader checks that it hashes to its record.
   */
  identityAddress: (workspace: string): SealedPlace => ['identity', workspace, null, 'id'],
  binding: (workspace: string, identity: string): SealedPlace => ['identity', workspace, identity, 'bind'],
  claims: (workspace: string, identity: string): SealedPlace => ['identity', workspace, identity, 'claims'],
  /** An anonymous identity's history entries: each names its identity, which the reader checks. */
  identityHistory: (workspace: string): SealedPlace => ['identity', workspace, null, 'history'],
  linkCode: (workspace: string, code: string): SealedPlace => ['link-code', workspace, code],
  /** A sign-in session's origin, its provider round trip's secrets, or its tokens until claimed. */
  signIn: (session: string, field: 'origin' | 'secrets' | 'tokens'): SealedPlace => [
    'sign-in',
    session,
    field,
  ],
};

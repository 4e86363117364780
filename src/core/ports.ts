// What the dialog engine needs from the world: one small port per file under ports/, combined here.
import type { AuthenticationPort } from './ports/authentication.js';
import type { HistoryPort } from './ports/history.js';
import type { LockoutPort } from './ports/lockout.js';
import type { OperatorEventsPort } from './ports/operator-events.js';
import type { RemoteApiPort } from './ports/remote-api.js';
import type { SignInPort } from './ports/sign-in.js';
import type { TokensPort } from './ports/tokens.js';
import type { UsersPort } from './ports/users.js';

export type {
  AuthComponentConfig,
  AuthComponentShape,
  CredentialFieldShape,
  DialogConfigTypes,
} from './ports/auth-component.js';
export type { AuthOutcome, AuthenticationPort } from './ports/authentication.js';
export type { Clock } from './ports/clock.js';
export type { HistoryItem, HistoryPort } from './ports/history.js';
export type { LockoutPort } from './ports/lockout.js';
export type { OperatorEventType, OperatorEventsPort } from './ports/operator-events.js';
export type {
  RemoteApiPort,
  RemoteApiRequest,
  RemoteApiResponse,
  RequestOutcome,
} from './ports/remote-api.js';
export type { SignInFinish, SignInPort, SignInStart, SignInStatus, VoiceSignIn } from './ports/sign-in.js';
export type { CachedToken, RefreshResult, TokensPort } from './ports/tokens.js';
export type { LinkOutcome, MoveForbidden, Tier, UserView, UsersPort } from './ports/users.js';

/**
 * Everything a turn may do outside the engine, bound to one conversation (workspace, bot, channel
 * identity). Implemented by `src/turn/turn-services.ts`.
 */
export type DialogServices = RemoteApiPort &
  UsersPort &
  TokensPort &
  LockoutPort &
  AuthenticationPort &
  SignInPort &
  OperatorEventsPort &
  HistoryPort;

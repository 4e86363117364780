// Binds the sign-in port to one turn: sessions in the sign-in store, tokens into the cache of the verified user.
import { linkSettings, signsInByLink, type AuthComponent } from '../auth/index.js';
import type { DialogServices, SignInPort, SignInStart } from '../core/ports.js';
import type { Logger } from '../log.js';
import type { Metrics } from '../metrics.js';
import type { SignInStore } from '../store/sign-in-store.js';
import type { TurnScope } from './turn-services.js';

export interface SignInDeps {
  store: SignInStore;
  /** The gateway's public URL: links are `<publicUrl>/s/<code>`. */
  publicUrl: () => string;
  now: () => number;
}

/** What the sign-in needs of the turn's other services: verifying the user and caching their tokens. */
type Verifier = Pick<DialogServices, 'markVerified' | 'storeToken'>;

/** Where the sign-in reports: the operator's log and the sign-in counter. */
export interface SignInObserver {
  logger: Logger;
  metrics: Pick<Metrics, 'signIns'>;
}

/** The number a call's sign-in link is texted from: the bot's SMS number, else its WhatsApp number. */
export function textRoute(
  scope: Pick<TurnScope, 'bot'>,
): { channel: 'sms' | 'whatsapp'; number: string } | undefined {
  const { numbers } = scope.bot;
  const sms = (numbers as Record<string, string[] | undefined>).sms?.[0];
  if (sms) return { channel: 'sms', number: sms };
  const whatsapp = (numbers as Record<string, string[] | undefined>).whatsapp?.[0];
  return whatsapp ? { channel: 'whatsapp', number: whatsapp } : undefined;
}

export function signInServices(
  deps: SignInDeps | undefined,
  scope: TurnScope,
  verifier: Verifier,
  observer: SignInObserver,
): SignInPort {
  const componentOf = (name: string): AuthComponent | undefined =>
    Object.hasOwn(scope.bot.auth, name) ? scope.bot.auth[name] : undefined;
  const onCall = scope.event.kind.startsWith('call.');
  /** Logs and counts an outcome; never a code, link or token. */
  const report = (
    name: string,
    outcome: 'started' | 'completed' | 'refused',
    detail: Record<string, unknown> = {},
  ) => {
    const type = componentOf(name)?.type ?? 'unknown';
    observer.metrics.signIns.inc({ component_type: type, outcome });
    const meta = {
      conversation: scope.cid,
      bot: scope.botId,
      channel: scope.event.channel,
      component: name,
      outcome,
      ...detail,
    };
    if (outcome === 'refused') observer.logger.warn('sign-in refused', meta);
    else observer.logger.info(outcome === 'started' ? 'sign-in link sent' : 'sign-in completed', meta);
  };
  return {
    signsInByLink: (name) => {
      const component = componentOf(name);
      return component !== undefined && signsInByLink(component);
    },
    async startSignIn(name): Promise<SignInStart> {
      const component = componentOf(name);
      if (!deps || !component) return { ok: false, reason: 'unavailable' };
      const settings = linkSettings(component);
      const voice = { holdSeconds: settings.voiceHoldSeconds, fallbackFlow: settings.voiceFallbackFlow };
      if (onCall && !textRoute(scope)) return { ok: false, reason: 'no_text_channel', voice };
      const { event } = scope;
      const created = await deps.store.create(
        {
          workspace: scope.workspaceId,
          botId: scope.botId,
          component: name,
          cid: scope.cid,
          channel: event.channel,
          identity: event.identity,
          from: event.from,
          to: event.to,
          ...(event.provider ? { provider: event.provider } : {}),
          binding: settings.binding,
        },
        settings.linkTtlSeconds,
      );
      report(name, 'started', {
        expiresAt: new Date(created.expiresAt).toISOString(),
        ...(onCall ? { textedOn: textRoute(scope)?.channel } : {}),
      });
      return {
        ok: true,
        session: created.session,
        link: `${deps.publicUrl()}/s/${created.code}`,
        expiresAt: created.expiresAt,
        binding: settings.binding,
        linkText: settings.linkText,
        voice,
      };
    },
    async signInStatus(session) {
      const found = deps ? await deps.store.status(session) : undefined;
      if (!found) return { status: 'expired' };
      switch (found.status) {
        case 'pending':
        case 'started':
          return { status: 'pending' };
        case 'completed':
          return { status: 'completed' };
        case 'failed':
          return { status: 'failed', reason: found.reason ?? 'error' };
        case 'taken':
          return { status: 'expired' };
      }
    },
    async finishSignIn(name, session, bindingCode) {
      if (!deps) return { ok: false, reason: 'unavailable' };
      const claimed = await deps.store.claim(session, bindingCode);
      if (!claimed.ok) {
        if (claimed.reason === 'wrong_code' || claimed.reason === 'too_many')
          report(name, 'refused', { reason: claimed.reason });
        return claimed;
      }
      const { tokens } = claimed;
      // Verified first, so that the tokens are cached under the verified user (and reported as user.verified).
      const user = await verifier.markVerified(claimed.userId, name);
      if ('moved' in user) {
        report(name, 'refused', { reason: 'identity_move_forbidden' });
        return { ok: false, reason: 'move_forbidden' };
      }
      await verifier.storeToken(name, claimed.userId, {
        token: tokens.accessToken,
        ttlSeconds: tokens.ttlSeconds,
        ...(tokens.extra ? { extra: tokens.extra } : {}),
        ...(tokens.refreshToken !== undefined ? { refreshToken: tokens.refreshToken } : {}),
        ...(tokens.refreshTtlSeconds !== undefined ? { refreshTtlSeconds: tokens.refreshTtlSeconds } : {}),
      });
      report(name, 'completed', { binding: bindingCode !== undefined });
      return {
        ok: true,
        user,
        token: {
          token: tokens.accessToken,
          expiresAt: deps.now() + tokens.ttlSeconds * 1000,
          ...(tokens.extra ? { extra: tokens.extra } : {}),
        },
      };
    },
  };
}

// Revoking forgotten tokens at their provider (LOGOUT, a refused token, the operator API): bounded, never an error.
import { revokeAtProvider, type AuthComponent, type AuthDeps } from '../auth/index.js';
import type { Config } from '../config/index.js';
import type { Logger } from '../log.js';
import type { OutboundClient } from '../net/outbound.js';
import type { Templates } from '../core/templates.js';
import type { TakenTokens } from '../store/token-store.js';

export interface ProviderRevocation {
  /** The component a token was cached for, when its configuration is known here. */
  component(name: string): AuthComponent | undefined;
  deps: AuthDeps;
  logger: Logger;
  /** Where the revocation comes from, for the logs (conversation, bot, workspace). */
  context: Record<string, unknown>;
}

/**
 * Revokes each token at its provider when the component's method can. Each waits at most the component's
 * timeout (whoever asked goes on; the call ends on its own timeout), and a failure is logged as a warning.
 */
export async function revokeAtProviders(taken: TakenTokens[], how: ProviderRevocation): Promise<void> {
  await Promise.all(
    taken.map(async (t) => {
      const component = how.component(t.component);
      if (!component) return;
      const where = { ...how.context, component: t.component, componentType: component.type };
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise<'late'>((resolve) => {
        timer = setTimeout(() => resolve('late'), component.timeout * 1000);
        timer.unref();
      });
      const tokens = {
        accessToken: t.accessToken,
        ...(t.refreshToken !== undefined ? { refreshToken: t.refreshToken } : {}),
      };
      const revoking = revokeAtProvider(t.component, component, tokens, how.deps).then(
        () => 'done' as const,
        (error: unknown) => {
          how.logger.warn('token revocation at the provider failed', {
            ...where,
            reason: error instanceof Error ? error.message : String(error),
          });
          return 'failed' as const;
        },
      );
      const result = await Promise.race([revoking, late]);
      clearTimeout(timer);
      if (result === 'late')
        how.logger.warn('token revocation at the provider did not answer in time', where);
    }),
  );
}

/** The operator API's revocation: the components of the workspace's bots, over its allowHosts. */
export function workspaceRevocation(deps: {
  config: () => Config;
  outbound: OutboundClient;
  templates: Templates;
  logger: Logger;
}): (workspace: string, taken: TakenTokens[]) => Promise<void> {
  return (workspace, taken) => {
    const config = deps.config();
    const settings = config.workspaces[workspace];
    const component = (name: string): AuthComponent | undefined => {
      for (const bot of Object.values(config.bots)) {
        if (bot.workspace === workspace && Object.hasOwn(bot.auth, name)) return bot.auth[name];
      }
      return undefined;
    };
    return revokeAtProviders(taken, {
      component,
      deps: {
        http: (request) =>
          deps.outbound.send({
            ...request,
            allowHosts: settings?.allowHosts ?? [],
            allowPrivateAddresses: settings?.allowPrivateAddresses ?? [],
          }),
        templates: deps.templates,
      },
      logger: deps.logger,
      context: { workspace, via: 'operator-api' },
    });
  };
}

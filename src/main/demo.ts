// `npm start`: the demo bank (auth service and protected API) and "Sign in with Demo Bank" (an OpenID
// provider) beside the gateway, on loopback.
import { DEMO_ACCOUNTS, startDemoBank } from '../../examples/demo-bank/server.js';

/** The `${NAME}`s config/examples/demo-bank.yaml needs, from where the demo services listen. */
function demoVariables(v: { bankPort: number; issuer: string; clientId: string; clientSecret: string }) {
  return {
    DEMO_BANK_PORT: String(v.bankPort),
    DEMO_API_KEY: process.env.DEMO_API_KEY ?? 'demo-api-key-for-the-local-sandbox-only',
    DEMO_IDP_ISSUER: v.issuer,
    DEMO_IDP_CLIENT_ID: v.clientId,
    DEMO_IDP_CLIENT_SECRET: v.clientSecret,
  };
}

/**
 * What `check-config --sandbox` checks the demo configuration with: the same names, with addresses of the
 * shape the services would have, without starting them (a check starts nothing).
 */
export function demoVariablesForCheck(): Record<string, string> {
  return demoVariables({
    bankPort: 3001,
    issuer: 'http://127.0.0.1:3002',
    clientId: 'switchboard-demo',
    clientSecret: 'checked-not-started',
  });
}

/** Each demo account's member number and PIN, for the keypad. */
function pins(): string {
  return DEMO_ACCOUNTS.map((a) => `member ${a.memberId}, PIN ${a.pin} (${a.username})`).join('; ');
}

/** The demo's accounts as the simulator's page lists them: what to type, and where. */
export function demoNotes(): string[] {
  return [
    ...DEMO_ACCOUNTS.map((a) => `${a.username} / ${a.password}: member number ${a.memberId}, PIN ${a.pin}`),
    '"Your balance" asks for the username and password in the chat (on a call, the member number and PIN).',
    '"Your last payment" asks for the member number and PIN.',
    '"Sign in by link" sends a link: sign in at the bank\'s page with the username and password.',
  ];
}

export interface DemoServices {
  /** The `${NAME}`s config/examples/demo-bank.yaml needs. */
  variables: Record<string, string>;
  /** What the sandbox banner says about the demo: where to sign in, and as whom. */
  welcome: string[];
  /** What the simulator's page shows: the demo accounts, their member numbers and PINs, and how to use them. */
  notes: string[];
  close: () => Promise<void>;
}

/**
 * `publicUrl`: where the gateway is reached; the provider sends the browser back to its
 * `/oauth/callback` and to nowhere else. The provider's client secret is made anew on every start.
 */
export async function startDemoServices(opts: { publicUrl: string }): Promise<DemoServices> {
  // Loaded when started: the provider library warns about Node 20 as it loads, and a check needs none of it.
  const { startDemoIdentityProvider } = await import('./demo-idp.js');
  const idp = await startDemoIdentityProvider({
    redirectUris: [`${opts.publicUrl.replace(/\/$/, '')}/oauth/callback`],
  });
  // The bank's API takes the provider's access tokens too: the balance works after signing in by link.
  const bank = await startDemoBank({ port: 0, acceptToken: idp.accountOf }).catch(async (error) => {
    await idp.close();
    throw error;
  });
  const accounts = DEMO_ACCOUNTS.map((a) => `${a.username} / ${a.password}`).join(', ');
  return {
    variables: demoVariables({
      bankPort: bank.port,
      issuer: idp.issuer,
      clientId: idp.clientId,
      clientSecret: idp.clientSecret,
    }),
    welcome: [
      `Sign in:    pick "Sign in by link" in the chat: "Sign in with Demo Bank" at the bank's page (${idp.issuer})`,
      `Accounts:   ${accounts} (or pick "Your balance" to type them in the chat); on a call, ${pins()}`,
    ],
    notes: demoNotes(),
    close: async () => {
      await bank.close();
      await idp.close();
    },
  };
}

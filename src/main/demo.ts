// `npm start`: the demo bank (auth service and protected API) beside the gateway, on loopback.
import { startDemoBank } from '../../examples/demo-bank/server.js';

export async function startDemoServices(): Promise<{
  variables: Record<string, string>;
  close: () => Promise<void>;
}> {
  const bank = await startDemoBank({ port: 0 });
  return {
    variables: {
      DEMO_BANK_PORT: String(bank.port),
      DEMO_API_KEY: process.env.DEMO_API_KEY ?? 'demo-api-key-for-the-local-sandbox-only',
    },
    close: bank.close,
  };
}

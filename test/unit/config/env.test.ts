// ${NAME} substitution: values from the environment, the $${...} escape, types, and secrecy in messages.
import { describe, expect, it } from 'vitest';
import { parseConfigText } from '../../../src/config/index.js';
import { problemsOf } from './helpers.js';

function configWith(serverLines: string): { file: string; text: string }[] {
  return [{ file: 'env.yaml', text: `server:\n${serverLines}\n` }];
}

describe('environment variables in the configuration', () => {
  it('replaces ${NAME} inside a value, and keeps $${NAME} as literal text', () => {
    const text = `
server:
  publicUrl: https://\${HOST_NAME}/gw
workspaces:
  acme: { apiKeys: ["\${KEY_A}", "prefix-\${KEY_B}-suffix"] }
bots:
  b:
    workspace: acme
    flows:
      main:
        - say: "Price: $\${AMOUNT} and \${GREETING}"
`;
    const config = parseConfigText([{ file: 'env.yaml', text }], {
      HOST_NAME: 'gw.example.com',
      KEY_A: 'a-0123456789abcdef0123456789abcdef',
      KEY_B: '0123456789abcdef0123456789abcdef',
      GREETING: 'hello',
    });
    expect(config.server.publicUrl).toBe('https://gw.example.com/gw');
    expect(config.workspaces.acme!.apiKeys).toEqual([
      'a-0123456789abcdef0123456789abcdef',
      'prefix-0123456789abcdef0123456789abcdef-suffix',
    ]);
    expect(config.bots.b!.flows.main).toEqual([{ say: 'Price: ${AMOUNT} and hello' }]);
  });

  it('gives a plain ${NAME} the type its text reads as, and a quoted one stays text', () => {
    const config = parseConfigText(
      configWith('  publicUrl: https://gw.example.com\n  port: ${PORT}\n  host: "${HOST}"'),
      {
        PORT: '8443',
        HOST: '10',
      },
    );
    expect(config.server.port).toBe(8443);
    expect(config.server.host).toBe('10');
  });

  it('names every missing variable with its file and line, and nothing else about those values', () => {
    expect(problemsOf(configWith('  publicUrl: ${PUBLIC_URL}\n  port: ${PORT}\n  host: ${HOST'), {})).toBe(
      [
        'env.yaml:2: server.publicUrl: environment variable PUBLIC_URL is not set. Hint: set PUBLIC_URL in the environment, or write $${PUBLIC_URL} for a literal "${PUBLIC_URL}".',
        'env.yaml:3: server.port: environment variable PORT is not set. Hint: set PORT in the environment, or write $${PORT} for a literal "${PORT}".',
        'env.yaml:4: server.host: "${HOST" is not a valid environment variable reference. Hint: write ${NAME} with letters, digits and "_", or $${...} for a literal "${".',
      ].join('\n'),
    );
  });

  it('reports a malformed reference and the line of a variable inside a literal block', () => {
    const text = `server:
  publicUrl: https://gw.example.com
  host: "\${not valid}"
workspaces:
  acme: { apiKeys: [k-0123456789abcdef0123456789abcdef] }
bots:
  b:
    workspace: acme
    flows:
      main:
        - say: |
            Hello.
            Your code is \${MISSING_CODE}.
`;
    expect(problemsOf([{ file: 'env.yaml', text }])).toBe(
      [
        'env.yaml:3: server.host: "${not valid}" is not a valid environment variable reference. Hint: write ${NAME} with letters, digits and "_", or $${...} for a literal "${".',
        'env.yaml:13: bots.b.flows.main[0].say: environment variable MISSING_CODE is not set. Hint: set MISSING_CODE in the environment, or write $${MISSING_CODE} for a literal "${MISSING_CODE}".',
      ].join('\n'),
    );
  });

  it('never quotes a value that came from the environment', () => {
    const text = 'server:\n  publicUrl: https://gw.example.com\n  port: ${PORT}\n';
    const problems = problemsOf([{ file: 'env.yaml', text }], { PORT: 'sk_live_secret' });
    expect(problems).toBe('env.yaml:3: server.port: expected a number, got text.');
    expect(problems).not.toContain('sk_live_secret');
  });
});

// The configuration schema and check-config find an auth method registered from outside src/ (a test's own).
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { authMethods, registerAuthMethod } from '../../../src/auth/index.js';
import { parseConfigText } from '../../../src/config/index.js';
import { fixedCode } from '../../integration/auth/fixed-code-method.js';
import { problemsOf } from './helpers.js';

/** A whole configuration whose bot has one auth component, written under `door:`. */
function configWith(component: string): { file: string; text: string }[] {
  const text = `server: { publicUrl: "https://gw.example.com" }
workspaces: { acme: { apiKeys: [key-1-0123456789abcdef0123456789abcdef] } }
bots:
  club:
    workspace: acme
    auth:
      door:
${component.replace(/^/gm, '        ')}
    flows:
      main:
        - auth: door
`;
  return [{ file: 'club.yaml', text }];
}

const FIELDS = `fields:
  - { name: member, prompt: "Your member name?" }
  - { name: code, prompt: "Your code?", secret: true }`;

describe('a registered auth method in the configuration', () => {
  it('is an option of the union on type: its component parses with its own schema and the common defaults', () => {
    const config = parseConfigText(configWith(`type: fixed-code\ncode: "2468"\n${FIELDS}\nlockout: 60`), {});
    expect(config.bots.club!.auth.door).toEqual({
      type: 'fixed-code',
      code: '2468',
      fields: [
        { name: 'member', prompt: 'Your member name?', secret: false, keypad: false },
        { name: 'code', prompt: 'Your code?', secret: true, keypad: false },
      ],
      ttl: 3600,
      maxAttempts: 3,
      lockout: 60,
      timeout: 10,
    });
  });

  it('an unknown type names it among the types', () => {
    expect(problemsOf(configWith(`type: fixed-cod\ncode: "2468"\n${FIELDS}`))).toBe(
      'club.yaml:8: bots.club.auth.door.type: unknown type "fixed-cod". Hint: did you mean "fixed-code"? Types: login, verify, oauth, fixed-code.',
    );
  });

  it("its schema's keys, rules and refinements are the ones the configuration checks", () => {
    expect(problemsOf(configWith(`type: fixed-code\ncod: "2468"\n${FIELDS}`))).toBe(
      'club.yaml:9: bots.club.auth.door.cod: unknown key "cod". Hint: did you mean "code"? Valid keys: type, code, fields, ttl, userNamespace, maxAttempts, lockout, account, timeout.',
    );
    expect(problemsOf(configWith(`type: fixed-code\ncode: "12"\n${FIELDS}`))).toBe(
      'club.yaml:9: bots.club.auth.door.code: not a fixed code. Hint: write four digits or more, e.g. "2468".',
    );
    const plainCode = FIELDS.replace(', secret: true', '');
    expect(problemsOf(configWith(`type: fixed-code\ncode: "2468"\n${plainCode}`))).toBe(
      'club.yaml:12: bots.club.auth.door.fields[1].secret: the code field must be secret. Hint: add "secret: true".',
    );
  });

  it("check-config runs the method's own checks, and the field prompts' template check every method gets", () => {
    const telling = FIELDS.replace('Your code?', 'Your code (it is 2468)?').replace(
      'Your member name?',
      'Your {{ name',
    );
    expect(problemsOf(configWith(`type: fixed-code\ncode: "2468"\n${telling}`))).toBe(
      [
        'club.yaml:11: bots.club.auth.door.fields[0].prompt: not a valid Liquid template: output "{{ name" not closed, line:1, col:6. Hint: variables are written {{ name }} and tags {% if ... %}...{% endif %}.',
        'club.yaml:12: bots.club.auth.door.fields[1].prompt: this prompt gives the code away. Hint: ask for it.',
      ].join('\n'),
    );
  });
});

describe('the registry', () => {
  it('holds the method once: registering it again changes nothing, another method of its type is refused', () => {
    const before = authMethods();
    registerAuthMethod(fixedCode);
    expect(authMethods()).toEqual(before);
    expect(() => registerAuthMethod({ ...fixedCode })).toThrow(
      'auth method "fixed-code" is already registered',
    );
    expect(authMethods().map((m) => m.type)).toEqual(['login', 'verify', 'oauth', 'fixed-code']);
  });

  it('refuses a method that signs in by link without the begin and complete it needs', () => {
    const link = {
      type: 'sign-in-link',
      schema: z.strictObject({ type: z.literal('sign-in-link'), fields: z.array(z.never()).default([]) }),
      signIn: 'link' as const,
      authenticate: () => Promise.resolve({ result: 'unavailable' as const, reason: 'not built' }),
    };
    expect(() => registerAuthMethod(link as never)).toThrow('signs in by link but has no begin and complete');
    expect(authMethods().map((m) => m.type)).not.toContain('sign-in-link');
  });
});

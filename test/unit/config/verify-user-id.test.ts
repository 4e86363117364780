// A verify component names its user by userIdPath or a userId template; check-config refuses what cannot work.
import { describe, expect, it } from 'vitest';
import { parseConfigText } from '../../../src/config/index.js';
import { problemsOf } from './helpers.js';

/** A whole configuration whose bot has a password login and a verify component `member-pin` with `extra` keys. */
function configWith(extra: string): { file: string; text: string }[] {
  const text = `server: { publicUrl: "https://gw.example.com" }
workspaces: { acme: { apiKeys: [key-1-0123456789abcdef0123456789abcdef], allowHosts: [bank.example.com] } }
bots:
  bank:
    workspace: acme
    auth:
      member-pin:
        type: verify
        url: https://bank.example.com/verify
        fields:
          - { name: member_id, prompt: "Member number?" }
          - { name: pin, prompt: "PIN?", secret: true }
${extra.replace(/^/gm, '        ')}
    flows:
      main:
        - auth: member-pin
`;
  return [{ file: 'bank.yaml', text }];
}

const memberPin = (extra: string) => parseConfigText(configWith(extra), {}).bots.bank!.auth['member-pin'];

describe('a verify component names its user', () => {
  it('takes a userId template over its typed fields', () => {
    expect(memberPin('userId: "u-{{member_id}}"')).toMatchObject({
      type: 'verify',
      userId: 'u-{{member_id}}',
    });
  });

  it('takes a userIdPath into the verification answer', () => {
    expect(memberPin('userIdPath: member.id')).toMatchObject({ type: 'verify', userIdPath: 'member.id' });
  });

  it('refuses both userId and userIdPath', () => {
    expect(problemsOf(configWith('userIdPath: member.id\nuserId: "{{member_id}}"'))).toBe(
      'bank.yaml:14: bots.bank.auth.member-pin.userId: userId and userIdPath both name the user; a component takes one of them. Hint: keep userIdPath when the verification service answers with the user id, else userId.',
    );
  });

  it('refuses a userNamespace beside userId: the id is the workspace’s own', () => {
    expect(problemsOf(configWith('userId: "{{member_id}}"\nuserNamespace: members'))).toBe(
      "bank.yaml:14: bots.bank.auth.member-pin.userNamespace: userNamespace does not apply with userId: that id is the workspace's own, used as is. Hint: remove userNamespace, or remove userId to name users by the member number they type.",
    );
  });

  it('refuses a userId template that does not parse', () => {
    expect(problemsOf(configWith('userId: "{{member_id"'))).toMatch(
      /^bank\.yaml:13: bots\.bank\.auth\.member-pin\.userId: not a valid Liquid template: .+\. Hint: variables are written \{\{ name \}\} and tags \{% if \.\.\. %\}\.\.\.\{% endif %\}\.$/,
    );
  });

  it('refuses a userId template naming a field the component does not have', () => {
    expect(problemsOf(configWith('userId: "{{member_number}}"'))).toBe(
      'bank.yaml:13: bots.bank.auth.member-pin.userId: userId names "member_number", which is not a field of this component. Hint: name the user by the fields the user types: {{member_id}}.',
    );
  });

  it('refuses a userId template naming a secret field', () => {
    expect(problemsOf(configWith('userId: "{{member_id}}-{{pin}}"'))).toBe(
      'bank.yaml:13: bots.bank.auth.member-pin.userId: field "pin" is secret and cannot name the user (user ids appear in events, logs and the operator API). Hint: name the user by the fields the user types: {{member_id}}.',
    );
  });

  it('lets another component share no namespace with a verify component that names its users', () => {
    const text = configWith('userId: "{{member_id}}"')[0]!.text.replace(
      '    flows:',
      `      member-login:
        type: login
        url: https://bank.example.com/token
        fields:
          - { name: username, prompt: "Username?" }
          - { name: password, prompt: "Password?", secret: true }
        userNamespace: member-pin
    flows:`,
    );
    expect(problemsOf([{ file: 'bank.yaml', text }])).toBe(
      'bank.yaml:20: bots.bank.auth.member-login.userNamespace: auth component "member-pin" names its users itself (userIdPath or userId), so no user is in namespace "member-pin". Hint: to share its users, write "userNamespace: false" if what users type here is the id "member-pin" answers; else pick another namespace.',
    );
  });
});

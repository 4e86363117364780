// allowHosts: which entries are valid, and which hosts an entry lets a bot call.
import { describe, expect, it } from 'vitest';
import { hostAllowed } from '../../../src/config/index.js';
import { isAllowHostEntry } from '../../../src/config/hosts.js';

describe('hostAllowed', () => {
  const allow = ['auth.acme.example', '*.api.acme.example', '127.0.0.1', '[::1]'];

  it('matches exact hosts regardless of case and a trailing dot', () => {
    expect(hostAllowed('auth.acme.example', allow)).toBe(true);
    expect(hostAllowed('AUTH.Acme.Example.', allow)).toBe(true);
    expect(hostAllowed('acme.example', allow)).toBe(false);
    expect(hostAllowed('evil-auth.acme.example', allow)).toBe(false);
  });

  it('matches any subdomain under a wildcard, but not the apex', () => {
    expect(hostAllowed('eu.api.acme.example', allow)).toBe(true);
    expect(hostAllowed('a.b.api.acme.example', allow)).toBe(true);
    expect(hostAllowed('api.acme.example', allow)).toBe(false);
    expect(hostAllowed('evilapi.acme.example', allow)).toBe(false);
  });

  it('matches IP addresses, with or without brackets', () => {
    expect(hostAllowed('127.0.0.1', allow)).toBe(true);
    expect(hostAllowed('::1', allow)).toBe(true);
    expect(hostAllowed('[::1]', allow)).toBe(true);
    expect(hostAllowed('127.0.0.2', allow)).toBe(false);
  });
});

describe('isAllowHostEntry', () => {
  it('accepts host names, wildcards and IP addresses', () => {
    expect(
      ['api.acme.example', '*.acme.example', 'localhost', '127.0.0.1', '::1', '[::1]'].map(isAllowHostEntry),
    ).toEqual([true, true, true, true, true, true]);
  });

  it('refuses schemes, ports, paths, a bare * and a wildcard in the middle', () => {
    expect(
      [
        'https://api.acme.example',
        'api.acme.example:8443',
        'api.acme.example/v1',
        '*',
        'api.*.example',
        '',
      ].map(isAllowHostEntry),
    ).toEqual([false, false, false, false, false, false]);
  });
});

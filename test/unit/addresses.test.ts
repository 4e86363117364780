// Address classifier and allowHosts matching for outbound calls.
import { describe, expect, it } from 'vitest';
import {
  addressRestriction,
  hostAllowed,
  hostListedExactly,
  normalizeHost,
  sameAddress,
} from '../../src/net/addresses.js';

describe('addressRestriction', () => {
  it.each([
    ['10.0.0.1', 'private address'],
    ['10.255.255.255', 'private address'],
    ['172.16.0.1', 'private address'],
    ['172.31.255.254', 'private address'],
    ['192.168.1.1', 'private address'],
    ['127.0.0.1', 'loopback address'],
    ['127.255.0.9', 'loopback address'],
    ['169.254.169.254', 'link-local address'],
    ['100.64.0.1', 'shared (CGNAT) address'],
    ['100.127.255.255', 'shared (CGNAT) address'],
    ['0.0.0.0', 'unspecified address'],
    ['224.0.0.251', 'multicast address'],
    ['255.255.255.255', 'reserved address'],
    ['::', 'unspecified address'],
    ['::1', 'loopback address'],
    ['[::1]', 'loopback address'],
    ['0:0:0:0:0:0:0:1', 'loopback address'],
    ['fc00::1', 'unique-local address'],
    ['fd12:3456:789a::1', 'unique-local address'],
    ['fe80::1', 'link-local address'],
    ['fe80::1%eth0', 'link-local address'],
    ['febf::1', 'link-local address'],
    ['ff02::1', 'multicast address'],
    ['::ffff:127.0.0.1', 'loopback address'],
    ['::ffff:7f00:1', 'loopback address'],
    ['::ffff:10.1.2.3', 'private address'],
    ['::127.0.0.1', 'loopback address'],
    ['64:ff9b::a9fe:a9fe', 'link-local address'],
    ['2002:c0a8:0101::1', 'private address'],
    ['fbff::1', 'reserved address'],
    ['100::1', 'reserved address'],
    ['not-an-ip', 'not an IP address'],
  ])('refuses %s', (address, reason) => {
    expect(addressRestriction(address)).toBe(reason);
  });

  it.each([
    '8.8.8.8',
    '1.1.1.1',
    '172.15.255.255',
    '172.32.0.1',
    '100.63.255.255',
    '100.128.0.1',
    '192.169.0.1',
    '169.253.0.1',
    '2606:4700:4700::1111',
    '2001:4860:4860::8888',
    '::ffff:8.8.8.8',
  ])('allows the public address %s', (address) => {
    expect(addressRestriction(address)).toBeUndefined();
  });
});

describe('hostAllowed', () => {
  const allow = ['auth.acme.example', '*.api.acme.example', '127.0.0.1', '::1'];

  it('matches exact names, case and trailing dot aside', () => {
    expect(hostAllowed('auth.acme.example', allow)).toBe(true);
    expect(hostAllowed('AUTH.Acme.Example.', allow)).toBe(true);
    expect(hostAllowed('other.acme.example', allow)).toBe(false);
    expect(hostAllowed('acme.example', allow)).toBe(false);
  });

  it('matches any subdomain of a wildcard, not the apex or look-alikes', () => {
    expect(hostAllowed('v1.api.acme.example', allow)).toBe(true);
    expect(hostAllowed('a.b.api.acme.example', allow)).toBe(true);
    expect(hostAllowed('api.acme.example', allow)).toBe(false);
    expect(hostAllowed('evilapi.acme.example', allow)).toBe(false);
    expect(hostAllowed('api.acme.example.evil.example', allow)).toBe(false);
  });

  it('matches IP literals by address, however written', () => {
    expect(hostAllowed('127.0.0.1', allow)).toBe(true);
    expect(hostAllowed('[::1]', allow)).toBe(true);
    expect(hostAllowed('0:0:0:0:0:0:0:1', allow)).toBe(true);
    expect(hostAllowed('127.0.0.2', allow)).toBe(false);
    expect(hostAllowed('', allow)).toBe(false);
  });

  it('tells exact entries from wildcard matches', () => {
    expect(hostListedExactly('auth.acme.example', allow)).toBe(true);
    expect(hostListedExactly('v1.api.acme.example', allow)).toBe(false);
    expect(hostListedExactly('::1', allow)).toBe(true);
  });

  it('normalizes names and addresses', () => {
    expect(normalizeHost('Bücher.Example.')).toBe('xn--bcher-kva.example');
    expect(normalizeHost('[::1]')).toBe('0:0:0:0:0:0:0:1');
    expect(sameAddress('::ffff:127.0.0.1', '::ffff:7f00:1')).toBe(true);
    expect(sameAddress('127.0.0.1', '::ffff:127.0.0.1')).toBe(false);
  });
});

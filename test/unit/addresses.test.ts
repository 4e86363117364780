// Address classifier and allowHosts matching for outbound calls.
import { describe, expect, it } from 'vitest';
import {
  addressListed,
  addressRestriction,
  hostAllowed,
  normalizeHost,
  parseCidr,
  privateAddressAllowed,
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
    ['169.254.169.254', 'cloud metadata address'],
    ['169.254.170.2', 'cloud metadata address'],
    ['169.254.1.1', 'link-local address'],
    ['fd00:ec2::254', 'cloud metadata address'],
    ['100.100.100.200', 'cloud metadata address'],
    ['168.63.129.16', 'cloud metadata address'],
    ['::ffff:169.254.169.254', 'cloud metadata address'],
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
    ['64:ff9b::a9fe:a9fe', 'cloud metadata address'],
    ['64:ff9b::a9fe:101', 'link-local address'],
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

  it('finds an address listed as itself, however written, and never through a name', () => {
    expect(addressListed('127.0.0.1', allow)).toBe(true);
    expect(addressListed('::ffff:127.0.0.1', allow)).toBe(true);
    expect(addressListed('0:0:0:0:0:0:0:1', allow)).toBe(true);
    expect(addressListed('127.0.0.2', allow)).toBe(false);
    expect(addressListed('10.0.0.1', ['auth.acme.example', '*.api.acme.example'])).toBe(false);
  });

  it('normalizes names and addresses', () => {
    expect(normalizeHost('Bücher.Example.')).toBe('xn--bcher-kva.example');
    expect(normalizeHost('[::1]')).toBe('0:0:0:0:0:0:0:1');
    expect(sameAddress('::ffff:127.0.0.1', '::ffff:7f00:1')).toBe(true);
    expect(sameAddress('127.0.0.1', '::ffff:127.0.0.1')).toBe(false);
  });
});

describe('allowPrivateAddresses', () => {
  it('reads addresses and CIDR ranges, and says what is wrong with a bad one', () => {
    expect(parseCidr('10.20.0.0/16')).toEqual({ bytes: Uint8Array.from([10, 20, 0, 0]), bits: 16 });
    expect(parseCidr('10.0.0.7')).toEqual({ bytes: Uint8Array.from([10, 0, 0, 7]), bits: 32 });
    expect(parseCidr('fd00:1::/64')).toMatchObject({ bits: 64 });
    expect(parseCidr('10.0.0.1/8')).toBe(
      '"10.0.0.1/8" has bits set after the /8 prefix; its network is 10.0.0.0/8',
    );
    expect(parseCidr('10.0.0.0/33')).toBe('"10.0.0.0/33" has a prefix length outside 0-32');
    expect(parseCidr('intranet')).toBe('"intranet" is not an IP address or range');
  });

  it('allows an address inside a listed range, of the same family only', () => {
    const ranges = ['10.20.0.0/16', 'fd00:1::/64', '192.168.1.5'];
    expect(privateAddressAllowed('10.20.3.4', ranges)).toBe(true);
    expect(privateAddressAllowed('::ffff:10.20.3.4', ranges)).toBe(true);
    expect(privateAddressAllowed('10.21.0.1', ranges)).toBe(false);
    expect(privateAddressAllowed('fd00:1::99', ranges)).toBe(true);
    expect(privateAddressAllowed('fd00:2::1', ranges)).toBe(false);
    expect(privateAddressAllowed('192.168.1.5', ranges)).toBe(true);
    expect(privateAddressAllowed('192.168.1.6', ranges)).toBe(false);
  });

  it('reaches a cloud metadata address only when it is listed as itself, not inside a range', () => {
    expect(privateAddressAllowed('169.254.169.254', ['169.254.0.0/16'])).toBe(false);
    expect(privateAddressAllowed('fd00:ec2::254', ['fd00::/8'])).toBe(false);
    expect(privateAddressAllowed('100.100.100.200', ['100.64.0.0/10'])).toBe(false);
    expect(privateAddressAllowed('169.254.169.254', ['169.254.169.254'])).toBe(true);
    expect(privateAddressAllowed('169.254.1.1', ['169.254.0.0/16'])).toBe(true);
  });
});

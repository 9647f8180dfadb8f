import { describe, expect, it } from 'vitest';
import { FORBIDDEN_WEBHOOK_URLS } from '../../test-support/forbidden-urls.js';
import { EgressPolicy, ForbiddenAddressError } from './egress.js';

describe('the egress policy', () => {
  const policy = new EgressPolicy();

  it('refuses every spelling of a private, loopback, link-local or multicast address, and credentials', () => {
    for (const url of FORBIDDEN_WEBHOOK_URLS) expect(policy.refuseUrl(url), url).toEqual(expect.any(String));
    expect(policy.refuseUrl('http://169.254.169.254/')).toContain('link-local');
    expect(policy.refuseUrl('http://[::ffff:127.0.0.1]/')).toContain('loopback');
    expect(policy.refuseUrl('ftp://hooks.example.com/')).toContain('http');
  });

  it('accepts public addresses and names, which are judged by what they resolve to when sent', () => {
    for (const url of [
      'https://hooks.example.com/switchyard',
      'http://8.8.8.8/hook',
      'http://[2606:4700:4700::1111]/hook',
      'http://[::ffff:8.8.8.8]/hook',
      'http://172.32.0.1/hook',
      'http://localhost:8080/hook',
    ]) {
      expect(policy.refuseUrl(url), url).toBeUndefined();
    }
  });

  it('allows the hosts, addresses and ranges an operator names', () => {
    const allowing = new EgressPolicy(['127.0.0.1', '10.0.0.0/8', 'fd00::/8', 'hooks.internal']);
    expect(allowing.refuseUrl('http://127.0.0.1:9000/hook')).toBeUndefined();
    expect(allowing.refuseUrl('http://[::ffff:127.0.0.1]/hook')).toBeUndefined();
    expect(allowing.refuseUrl('http://10.20.30.40/hook')).toBeUndefined();
    expect(allowing.refuseUrl('http://[fd00::5]/hook')).toBeUndefined();
    expect(allowing.refuseUrl('http://127.0.0.2/hook')).toEqual(expect.any(String));
    expect(allowing.refuseUrl('http://192.168.0.1/hook')).toEqual(expect.any(String));
    expect(allowing.refuseAddress('10.9.9.9')).toBeUndefined();
    expect(allowing.refuseAddress('::1')).toEqual(expect.any(String));
  });

  it('refuses a configuration entry it cannot read', () => {
    for (const entry of ['10.0.0.0/33', 'fd00::/129', '10.0.0.0/8/1', 'http://x', 'a b', 'host/8']) {
      expect(() => new EgressPolicy([entry]), entry).toThrow(/SWITCHYARD_WEBHOOK_ALLOWED_HOSTS/);
    }
  });

  it('fails a lookup whose name resolves to a forbidden address, unless the name is allowed', async () => {
    const resolve = (p: EgressPolicy, host: string) =>
      new Promise<unknown>((done) => {
        p.lookup(host, { all: true }, (err, addresses) => done(err ?? addresses));
      });
    const refused = await resolve(policy, 'localhost');
    expect(refused).toBeInstanceOf(ForbiddenAddressError);
    expect(String((refused as Error).message)).toMatch(/localhost resolves to .*loopback/);
    expect(await resolve(new EgressPolicy(['localhost']), 'localhost')).toEqual(
      expect.arrayContaining([expect.objectContaining({ address: expect.any(String) })]),
    );
    expect(await resolve(new EgressPolicy(['127.0.0.0/8', '::1']), 'localhost')).toEqual(expect.any(Array));
  });
});

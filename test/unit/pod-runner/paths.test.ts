// Mount paths in args and env rewritten to the pod's root directory on the host.
import { describe, expect, it } from 'vitest';

import { mountPathRewriter, normalizeMountPath } from '../../cluster/harness/pod-runner/paths.ts';

const rewrite = mountPathRewriter('/w/pods/p/root', [
  '/var/lib/agdr',
  '/var/lib/agdr/keys/',
  '/etc/agdr',
]);

describe('mountPathRewriter', () => {
  it.each([
    ['/var/lib/agdr', '/w/pods/p/root/var/lib/agdr'],
    ['/var/lib/agdr/log', '/w/pods/p/root/var/lib/agdr/log'],
    ['--data=/var/lib/agdr', '--data=/w/pods/p/root/var/lib/agdr'],
    ['/var/lib/agdr/keys/k.json', '/w/pods/p/root/var/lib/agdr/keys/k.json'],
    [
      '/etc/agdr/routing.json,/etc/agdr/trust.json',
      '/w/pods/p/root/etc/agdr/routing.json,/w/pods/p/root/etc/agdr/trust.json',
    ],
    // Not a mount path, or not where a path starts: unchanged.
    ['/var/lib/agdrx', '/var/lib/agdrx'],
    ['/var/lib', '/var/lib'],
    ['http://h/var/lib/agdr', 'http://h/var/lib/agdr'],
    ['x/etc/agdr', 'x/etc/agdr'],
    ['10.244.0.7:7071', '10.244.0.7:7071'],
  ])('%j → %j', (input, want) => {
    expect(rewrite(input)).toBe(want);
  });

  it('rewrites each occurrence once', () => {
    expect(rewrite(rewrite('/etc/agdr'))).toBe('/w/pods/p/root/etc/agdr');
  });

  it('leaves everything alone without mounts, and never maps /', () => {
    expect(mountPathRewriter('/r', [])('/etc/agdr')).toBe('/etc/agdr');
    expect(mountPathRewriter('/r', ['/'])('/etc/agdr')).toBe('/etc/agdr');
  });

  it('normalizes trailing slashes', () => {
    expect(normalizeMountPath('/data/')).toBe('/data');
    expect(normalizeMountPath('/')).toBe('/');
  });
});

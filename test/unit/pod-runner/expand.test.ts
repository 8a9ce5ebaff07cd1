// kubelet's `$(VAR)` expansion rules (k8s.io/kubernetes third_party/forked/golang/expansion).
import { describe, expect, it } from 'vitest';

import { expandKubeVars } from '../../cluster/harness/pod-runner/expand.ts';

const vars: Record<string, string> = { POD_IP: '10.244.0.7', EMPTY: '', NAME: 'shard-0' };
const expand = (s: string): string => expandKubeVars(s, (n) => vars[n]);

describe('expandKubeVars', () => {
  it.each([
    ['$(POD_IP):7071', '10.244.0.7:7071'],
    ['--host=$(POD_IP)', '--host=10.244.0.7'],
    ['$(NAME)-$(POD_IP)', 'shard-0-10.244.0.7'],
    ['x$(EMPTY)y', 'xy'],
    // Undefined references stay as written.
    ['$(MISSING)', '$(MISSING)'],
    // `$$` escapes a `$`, so `$$(POD_IP)` is the literal text `$(POD_IP)`.
    ['$$(POD_IP)', '$(POD_IP)'],
    ['$$$(POD_IP)', '$10.244.0.7'],
    ['a$$b', 'a$b'],
    // An unclosed reference and any other `$x` are kept.
    ['$(POD_IP', '$(POD_IP'],
    ['$POD_IP', '$POD_IP'],
    ['cost: $5', 'cost: $5'],
    ['ends with $', 'ends with $'],
    ['$()', '$()'],
    ['', ''],
    ['no vars', 'no vars'],
  ])('%j → %j', (input, want) => {
    expect(expand(input)).toBe(want);
  });

  it('does not expand a value that came from a variable', () => {
    expect(expandKubeVars('$(A)', (n) => (n === 'A' ? '$(B)' : 'b'))).toBe('$(B)');
  });
});

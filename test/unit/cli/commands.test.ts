// Each command's flags -> typed config step, without running anything: what `agdr <command>`
// would run with, and the UsageError (exit code 2) a bad command line gets.
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { UsageError } from '../../../src/cli/command.ts';
import { command as coordinator } from '../../../src/cli/coordinator.ts';
import { command as local } from '../../../src/cli/local.ts';
import { command as operator } from '../../../src/cli/operator.ts';
import { command as prove } from '../../../src/cli/prove.ts';
import { command as shard } from '../../../src/cli/shard.ts';
import { command as submit } from '../../../src/cli/submit.ts';
import { command as verify } from '../../../src/cli/verify.ts';

function usage(run: () => unknown): string {
  try {
    run();
  } catch (err) {
    expect(err).toBeInstanceOf(UsageError);
    return (err as UsageError).message;
  }
  throw new Error('expected a UsageError');
}

describe('agdr coordinator flags', () => {
  const base = ['--shards', 'http://s-{i}:7071', '--data', 'd', '--trust', 't', '--routing', 'r'];

  it('become one config with the defaults filled in and paths resolved', () => {
    expect(coordinator.configure(base)).toEqual({
      namespace: 'default',
      cluster: 'local',
      dataDir: path.resolve('d'),
      shards: { kind: 'template', template: 'http://s-{i}:7071' },
      intervalMs: 60_000,
      trustFile: path.resolve('t'),
      routingFile: path.resolve('r'),
      host: '127.0.0.1',
      browsers: { allowOrigins: [], allowHosts: [] },
      port: 7070,
      concurrency: 64,
      shardTimeoutMs: 5000,
      signer: { kind: 'file' },
      keyFile: path.join(path.resolve('d'), 'coordinator.key'),
      logLevel: 'info',
      json: false,
    });
    const c = coordinator.configure([...base, '--publish-url', 'https://w/add', '--port', '0']);
    expect(c).toMatchObject({ publishUrl: 'https://w/add', port: 0 });
    const browsers = coordinator.configure(
      [
        ...base,
        ['--allow-origin', 'https://console.example'],
        ['--allow-host', '*.Example.org', '--allow-host', 'agdr.internal'],
      ].flat(),
    );
    expect(browsers.browsers).toEqual({
      allowOrigins: ['https://console.example'],
      allowHosts: ['*.example.org', 'agdr.internal'],
    });
  });

  it('reject missing, unknown and bad values with the flag named', () => {
    expect(usage(() => coordinator.configure(base.slice(2)))).toBe(
      'give one of --shards and --shards-file',
    );
    expect(usage(() => coordinator.configure([...base, '--nope']))).toMatch(/--nope/);
    expect(usage(() => coordinator.configure([...base, '--interval', '500ms']))).toBe(
      '--interval: must be at least 1s',
    );
    expect(usage(() => coordinator.configure([...base, '--port', '70000']))).toMatch(/^--port: /);
    expect(
      usage(() => coordinator.configure([...base, '--allow-origin', 'https://console.example/'])),
    ).toBe(
      "--allow-origin: 'https://console.example/' is not an origin; did you mean 'https://console.example'?",
    );
    expect(usage(() => coordinator.configure([...base, '--allow-host', 'a b']))).toBe(
      "--allow-host: 'a b' is not a host name (or *.domain)",
    );
    expect(usage(() => coordinator.configure([...base, '--shards', '0=http://a,0=http://b']))).toBe(
      '--shards[1]: shard 0 listed twice',
    );
  });
});

describe('agdr shard flags', () => {
  const base = ['--data', 'd', '--shard-id', '3', '--routing', 'r'];

  it('become the shard options, workers left to the machine unless given', () => {
    const c = shard.configure([...base, '--max-batch-wait', '2ms', '--max-body', '1024']);
    expect(c).toMatchObject({
      dataDir: path.resolve('d'),
      shardId: 3,
      keyFile: path.join(path.resolve('d'), 'key.json'),
      port: 7071,
      maxBatchWaitMs: 2,
      limits: { maxBodyBytes: 1024, maxBatchBodyBytes: 64 << 20, maxBatchLines: 20_000 },
      workers: undefined,
      fullCheck: false,
    });
    expect(shard.configure([...base, '--workers', '0']).workers).toBe(0);
    expect(usage(() => shard.configure([...base, '--vault-role', 'r']))).toBe(
      '--vault-role needs --signer vault',
    );
  });

  it('reject a bad shard id, byte count or log level', () => {
    expect(usage(() => shard.configure([...base, '--shard-id', '03']))).toBe(
      '--shard-id: not a shard id',
    );
    expect(usage(() => shard.configure([...base, '--max-batch-bytes', '1.5MiB']))).toMatch(
      /^--max-batch-bytes: /,
    );
    expect(usage(() => shard.configure([...base, '--log-level', 'loud']))).toMatch(
      /^--log-level: 'loud' is not one of/,
    );
  });
});

describe('agdr local, submit, prove and verify flags', () => {
  it('local: the shard count stays open until the data directory is read', () => {
    expect(local.configure([])).toEqual({
      dataDir: path.resolve('./agdr-data'),
      shards: undefined,
      basePort: 7070,
      intervalMs: 5000,
      checkpointIntervalMs: 1000,
      json: false,
      init: false,
    });
    expect(usage(() => local.configure(['--shards', '0']))).toBe(
      '--shards: must be between 1 and 256',
    );
  });

  it('submit: exactly one source of shards; the input file defaults to stdin', () => {
    expect(submit.configure(['--shards', 'http://a,http://b'])).toMatchObject({
      file: '-',
      coordinator: undefined,
      shards: {
        kind: 'list',
        shards: [
          { id: 0, url: 'http://a' },
          { id: 1, url: 'http://b' },
        ],
      },
      batchSize: 2000,
      concurrency: 2,
      lingerMs: 5,
      maxInFlightBytes: 32 * 1024 * 1024,
      retryForMs: 120_000,
      validateFirst: false,
      tokenFile: undefined,
    });
    expect(
      submit.configure([
        'in.ndjson',
        '--coordinator',
        'http://c',
        '--validate-first',
        '--linger',
        '20ms',
        '--max-inflight-mb',
        '8',
        '--retry-for',
        '30s',
        '--token-file',
        '/run/token',
      ]),
    ).toMatchObject({
      file: 'in.ndjson',
      coordinator: 'http://c',
      shards: undefined,
      validateFirst: true,
      lingerMs: 20,
      maxInFlightBytes: 8 * 1024 * 1024,
      retryForMs: 30_000,
      tokenFile: '/run/token',
    });
    expect(
      usage(() => submit.configure(['--coordinator', 'http://c', '--linger', 'soon'])),
    ).toMatch(/^--linger: /);
    expect(
      usage(() => submit.configure(['--coordinator', 'http://c', '--shards', 'http://a'])),
    ).toBe('give exactly one of --coordinator URL or --shards LIST');
  });

  it('prove: records by id or by shard and seq, never both', () => {
    expect(
      prove.configure(['--coordinator', 'http://c', '--record-id', 'a', '--record-id', 'b']),
    ).toMatchObject({ targets: [{ recordId: 'a' }, { recordId: 'b' }], waitMs: 0 });
    expect(
      prove.configure(['--coordinator', 'http://c', '--shard', '1', '--seq', '9', '--wait', '2s']),
    ).toMatchObject({ targets: [{ shard: 1, seq: 9 }], waitMs: 2000 });
    expect(
      usage(() =>
        prove.configure([
          '--coordinator',
          'http://c',
          '--record-id',
          'a',
          '--shard',
          '1',
          '--seq',
          '2',
        ]),
      ),
    ).toBe('give --record-id or --shard/--seq, not both');
  });

  it('prove: --shard-url ID=URL, repeatable, each id once', () => {
    const base = ['--coordinator', 'http://c', '--record-id', 'a'];
    expect(
      prove.configure([
        ...base,
        '--shard-url',
        '3=http://10.0.0.3:8080',
        '--shard-url',
        '4=http://h',
      ]),
    ).toMatchObject({
      shardUrls: new Map([
        [3, 'http://10.0.0.3:8080'],
        [4, 'http://h'],
      ]),
    });
    expect(usage(() => prove.configure([...base, '--shard-url', 'http://h']))).toBe(
      '--shard-url http://h: want ID=URL',
    );
    expect(
      usage(() =>
        prove.configure([...base, '--shard-url', '3=http://a', '--shard-url', '3=http://b']),
      ),
    ).toBe('--shard-url: shard 3 given twice');
    expect(usage(() => prove.configure([...base, '--shard-url', '3=ftp://a']))).toContain(
      'is not an http(s) URL',
    );
  });

  it('verify: one bundle or one log directory', () => {
    expect(verify.configure(['b.json', '--trust', 't.json'])).toEqual({
      trustFile: 't.json',
      trustKeys: [],
      keyHistories: [],
      json: false,
      bundle: 'b.json',
    });
    expect(verify.configure(['--log', 'dir', '--json'])).toEqual({
      trustFile: undefined,
      trustKeys: [],
      keyHistories: [],
      json: true,
      log: path.resolve('dir'),
    });
    expect(
      verify.configure([
        'b.json',
        '--key-history',
        'h1',
        '--key-history',
        'h2',
        '--trust-key',
        'k',
      ]),
    ).toMatchObject({ trustKeys: ['k'], keyHistories: ['h1', 'h2'], bundle: 'b.json' });
    expect(usage(() => verify.configure(['b.json', '--key-history', 'h']))).toMatch(
      /from trusted first keys: give --trust-key KEY or --trust FILE/,
    );
    expect(usage(() => verify.configure(['--log', 'd', '--trust-key', 'k']))).toMatch(
      /--log takes --trust/,
    );
    expect(usage(() => verify.configure(['b.json', '--log', 'dir']))).toBe(
      'give either BUNDLE or --log DIR, not both',
    );
  });
});

describe('agdr operator flags', () => {
  it('become one config: leader election, intervals and its own Vault login', () => {
    const c = operator.configure([
      '--namespace',
      'a,b',
      '--identity',
      'op-1',
      '--vault-addr',
      'https://vault:8200',
    ]);
    expect(c).toMatchObject({
      kubeconfig: undefined,
      namespaces: ['a', 'b'],
      leaderElection: {
        namespace: undefined,
        name: 'agdr-operator',
        identity: 'op-1',
        leaseDurationMs: 15_000,
        renewDeadlineMs: 10_000,
        retryPeriodMs: 2_000,
      },
      port: 8080,
      resyncMs: 30_000,
      statusIntervalMs: 10_000,
      logLevel: 'info',
      vault: {
        defaultAddress: 'https://vault:8200',
        caFile: undefined,
        login: {
          kind: 'jwt',
          mount: 'jwt',
          role: 'agdr-operator',
          jwtFile: '/var/run/secrets/agdr.dev/vault/token',
        },
        timeoutMs: 5000,
      },
    });
    const dev = operator.configure([
      '--no-leader-elect',
      '--vault-token',
      'tok',
      '--vault-auth-mount',
      '/kubernetes/',
    ]);
    expect(dev.leaderElection).toBeUndefined();
    expect(dev.vault.login).toEqual({ kind: 'token', tokenFile: 'tok' });
    expect(operator.configure(['--vault-auth-mount', '/kubernetes/']).vault.login).toMatchObject({
      mount: 'kubernetes',
    });
  });

  it('refuse bad values naming the flag', () => {
    expect(usage(() => operator.configure(['--namespace', 'Bad_NS']))).toMatch(/--namespace/);
    expect(usage(() => operator.configure(['--port', '70000']))).toMatch(/--port/);
    expect(usage(() => operator.configure(['--vault-addr', 'vault:8200']))).toMatch(/--vault-addr/);
    expect(usage(() => operator.configure(['--lease-duration', '1s']))).toMatch(/--retry-period/);
    expect(usage(() => operator.configure(['--vault-timeout', 'soon']))).toMatch(/--vault-timeout/);
  });
});

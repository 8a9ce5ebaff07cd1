import js from '@eslint/js';
import tseslint from 'typescript-eslint';

// The import rules of docs/ARCHITECTURE.md ("Source layout and import rules"): which src/
// folders each folder may import, besides itself and packages. Enforced with ESLint's own
// `no-restricted-imports` (regex patterns on the specifier), so a wrong import fails
// `npm run lint` with no extra plugin; test/unit/docs/import-rules.test.ts plants one.
const MAY_IMPORT = {
  core: [],
  'log-store': ['core'],
  keys: ['core'],
  clients: ['core'],
  // The client library (agdr-operator/client): built on the shared client layer.
  client: ['core', 'clients'],
  // What both HTTP servers share (connection limits, parser errors, 405).
  'http-server': [],
  'shard-runtime': ['core', 'log-store', 'keys', 'http-server'],
  coordinator: ['core', 'log-store', 'keys', 'clients', 'http-server'],
  // `keys`: the operator provisions shard keys through a signer backend.
  operator: ['core', 'clients', 'keys'],
  // `coordinator` only from the commands that start one (below).
  cli: [
    'core',
    'log-store',
    'keys',
    'clients',
    'client',
    'http-server',
    'shard-runtime',
    'operator',
  ],
};
const FOLDERS = Object.keys(MAY_IMPORT);
const STARTS_A_COORDINATOR = ['src/cli/coordinator.ts', 'src/cli/local.ts'];

// src/core is pure computation: no file system, network, processes, environment or clock.
const CORE_PACKAGES = [
  'node:crypto',
  'hash-wasm',
  'canonicalize',
  '@noble/hashes/blake3.js',
  '@noble/ed25519',
];
const escape = (s) => s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');

/** A relative specifier that reaches into the top-level src/ folder `name`. */
function folderPattern(from, name) {
  return {
    regex: `^(\\./|(\\.\\./)+)${escape(name)}/`,
    message: `src/${from} may import only ${MAY_IMPORT[from].join(', ') || 'nothing in src/'} (docs/ARCHITECTURE.md); not src/${name}.`,
  };
}

function importRule(from, extra = []) {
  const forbidden = FOLDERS.filter(
    (f) => f !== from && !MAY_IMPORT[from].includes(f) && !extra.includes(f),
  );
  const patterns = forbidden.map((f) => folderPattern(from, f));
  if (from === 'core') {
    patterns.push({
      regex: `^(?!\\.|(${CORE_PACKAGES.map(escape).join('|')})$)`,
      message: `src/core does no I/O: it may import only ${CORE_PACKAGES.join(', ')}.`,
    });
  }
  return { 'no-restricted-imports': ['error', { patterns }] };
}

const layering = FOLDERS.map((folder) => ({
  files: [`src/${folder}/**/*.ts`],
  rules: {
    ...importRule(folder),
    // Dynamic imports would slip past the rule above; only the CLI's command table uses them.
    'no-restricted-syntax': [
      'error',
      folder === 'cli'
        ? {
            selector: 'ImportExpression:not([source.value=/^\\.\\/[a-z-]+\\.ts$/])',
            message: 'src/cli imports commands dynamically only as ./<command>.ts.',
          }
        : { selector: 'ImportExpression', message: 'no dynamic imports in src/ outside cli.' },
    ],
  },
}));

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'charts/**', 'coverage/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_' },
      ],
      'no-empty': ['error', { allowEmptyCatch: false }],
    },
  },
  ...layering,
  { files: STARTS_A_COORDINATOR, rules: importRule('cli', ['coordinator']) },
  {
    // Configuration enters once, in src/cli (flags -> one typed config object).
    files: ['src/**/*.ts'],
    ignores: ['src/cli/**'],
    rules: {
      'no-restricted-properties': [
        'error',
        { object: 'process', property: 'env', message: 'only src/cli reads process.env.' },
      ],
    },
  },
  {
    files: ['src/core/**/*.ts'],
    rules: {
      'no-restricted-properties': [
        'error',
        { object: 'process', message: 'src/core does no I/O and reads no environment.' },
        { object: 'Date', property: 'now', message: 'src/core takes clocks as arguments.' },
        { object: 'performance', property: 'now', message: 'src/core takes clocks as arguments.' },
      ],
    },
  },
);

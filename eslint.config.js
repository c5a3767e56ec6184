// Flat config: type-aware typescript-eslint, Vue, and the ring boundaries of STYLE.md.
import fs from 'node:fs';
import path from 'node:path';
import js from '@eslint/js';
import globals from 'globals';
import tseslint from 'typescript-eslint';
import pluginVue from 'eslint-plugin-vue';
import vueParser from 'vue-eslint-parser';

const nodeBuiltins = [
  'node:*',
  'fs',
  'path',
  'child_process',
  'crypto',
  'os',
  'net',
  'http',
  'https',
];
// Hardware and network: only a family's transport.ts (and a rehearsal device's loopback end,
// rehearsal-server.ts) may load these.
const nativeModules = [
  'pkcs11js',
  'usb',
  'smartcard',
  'node:https',
  'https',
  'node:http',
  'http',
  'node:net',
  'net',
  'node:tls',
  'tls',
  'node:dgram',
  'dgram',
];

/** The hardware and network modules as exact import names (a pattern would also match folders). */
const hardwarePaths = (message) => nativeModules.map((name) => ({ name, message }));

const noElectron = {
  name: 'electron',
  message: 'core and devices are plain Node: no electron import.',
};
const transportOnly = 'Only a device family transport.ts may load native or network modules.';

/** One `no-restricted-imports` rule for a ring: no Electron, maybe no hardware, and its arrows. */
function ringRule({ hardware = transportOnly, patterns = [] } = {}) {
  const paths = [noElectron, ...(hardware === null ? [] : hardwarePaths(hardware))];
  return {
    'no-restricted-imports': ['error', { paths, ...(patterns.length ? { patterns } : {}) }],
  };
}

// Layers, lowest first: shared/ → formats/ and base/ → devices/ → core/ (with each family's
// devices/<family>/ceremony/ plug beside it) → main/. Arrows point down only.
const upwardFromDevices = [
  {
    group: ['**/core/**'],
    message:
      "The device layer sits below core: move the shared piece into electron/base/, or the ceremony part into the family's ceremony/ folder.",
  },
  { group: ['**/ceremony-families.ts', '**/main/**'], message: 'Arrows point down only.' },
];
const upwardFromBase = [
  {
    group: ['**/core/**', '**/devices/**', '**/main/**', '**/ceremony-families.ts'],
    message: 'formats/ and base/ sit below devices and core.',
  },
];

// Device families plugged into the ceremony engine (electron/ceremony-families.ts). The engine
// names none of them, not even in a comment: a family is its folder and its registry line.
const pluggedFamilyNames = [
  'nethsm',
  'yubihsm',
  'yubikey',
  'openpgp',
  'piv',
  'pkcs11',
  'softhsm',
  'smartcard',
  'tuf',
  'toto',
];

/**
 * The runtime import graph of electron/ (static `import … from` and `export … from`; type-only
 * imports are erased and dynamic imports load late, so neither can deadlock a module's start),
 * read once per lint run.
 */
let importGraph = null;
const importStatement = /^(?:import|export)\s+(type\s+)?[^;]*?\sfrom\s+'(\.[^']+)';/gms;

/** The files a module's text imports at run time, resolved from its own folder. */
function runtimeImportsOf(file, text) {
  const targets = [];
  for (const match of text.matchAll(importStatement)) {
    if (!match[1]) targets.push(path.resolve(path.dirname(file), match[2]));
  }
  return targets;
}

function runtimeImportGraph() {
  if (importGraph) return importGraph;
  importGraph = new Map();
  const root = path.join(import.meta.dirname, 'electron');
  for (const entry of fs.readdirSync(root, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile() || !entry.name.endsWith('.ts')) continue;
    const file = path.join(entry.parentPath, entry.name);
    importGraph.set(file, runtimeImportsOf(file, fs.readFileSync(file, 'utf8')));
  }
  return importGraph;
}

/** A path of imports from `file` (as linted now, `text`) back to itself, or null. */
function cycleThrough(file, text) {
  const graph = new Map(runtimeImportGraph());
  graph.set(file, runtimeImportsOf(file, text));
  const seen = new Set();
  const walk = (at, trail) => {
    for (const next of graph.get(at) ?? []) {
      if (next === file) return [...trail, next];
      if (seen.has(next)) continue;
      seen.add(next);
      const found = walk(next, [...trail, next]);
      if (found) return found;
    }
    return null;
  };
  return walk(file, [file]);
}

const vigilPlugin = {
  rules: {
    'no-import-cycle': {
      meta: {
        type: 'problem',
        schema: [],
        messages: { cycle: 'Import cycle: {{cycle}}. Arrows point one way only.' },
      },
      create(context) {
        return {
          Program(node) {
            const cycle = cycleThrough(path.resolve(context.filename), context.sourceCode.text);
            if (!cycle) return;
            const root = import.meta.dirname;
            context.report({
              node,
              messageId: 'cycle',
              data: { cycle: cycle.map((f) => path.relative(root, f)).join(' → ') },
            });
          },
        };
      },
    },
    'engine-names-no-family': {
      meta: {
        type: 'problem',
        schema: [{ type: 'array', items: { type: 'string' } }],
        messages: {
          named:
            'The ceremony engine names no device family ("{{name}}"): move this into the family\'s folder and reach it through the CeremonyFamily interface.',
        },
      },
      create(context) {
        const names = context.options[0] ?? [];
        return {
          Program() {
            const { text } = context.sourceCode;
            for (const name of names) {
              const pattern = new RegExp(name, 'gi');
              for (let match = pattern.exec(text); match; match = pattern.exec(text)) {
                context.report({
                  loc: context.sourceCode.getLocFromIndex(match.index),
                  messageId: 'named',
                  data: { name: match[0] },
                });
              }
            }
          },
        };
      },
    },
  },
};

export default tseslint.config(
  {
    ignores: ['out/**', 'dist/**', 'node_modules/**', 'test-results/**', 'bin/**'],
  },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  ...pluginVue.configs['flat/recommended'],
  {
    languageOptions: {
      parserOptions: {
        projectService: { allowDefaultProject: ['*.js', 'bin/*.mjs', 'test/helpers/*.mjs'] },
        tsconfigRootDir: import.meta.dirname,
        extraFileExtensions: ['.vue'],
      },
    },
  },
  {
    files: ['**/*.vue'],
    languageOptions: {
      parser: vueParser,
      parserOptions: {
        parser: tseslint.parser,
        extraFileExtensions: ['.vue'],
        projectService: true,
      },
      globals: globals.browser,
    },
  },
  {
    files: ['**/*.ts', '**/*.vue'],
    rules: {
      '@typescript-eslint/no-floating-promises': [
        'error',
        {
          // node:test's describe/it return promises the runner itself awaits.
          allowForKnownSafeCalls: [
            { from: 'package', package: 'node:test', name: ['describe', 'it', 'test', 'suite'] },
          ],
        },
      ],
      '@typescript-eslint/require-await': 'error',
      '@typescript-eslint/ban-ts-comment': 'error',
      '@typescript-eslint/switch-exhaustiveness-check': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
      'no-eval': 'error',
      'no-new-func': 'error',
      'no-implied-eval': 'error',
      'vue/no-v-html': 'error',
      'vue/multi-word-component-names': 'off',
      // SECURITY: predictable randomness has no place in a key ceremony (GitHub Desktop's insecure-random).
      'no-restricted-properties': [
        'error',
        {
          object: 'Math',
          property: 'random',
          message: 'Use crypto.getRandomValues / randomBytes.',
        },
      ],
    },
  },
  // Vue's own formatting rules are Prettier's job.
  {
    files: ['**/*.vue'],
    rules: {
      'vue/max-attributes-per-line': 'off',
      'vue/singleline-html-element-content-newline': 'off',
      'vue/html-self-closing': 'off',
      'vue/html-indent': 'off',
      'vue/html-closing-bracket-newline': 'off',
      'vue/multiline-html-element-content-newline': 'off',
    },
  },
  {
    files: ['renderer/**', 'shared/**'],
    ignores: ['renderer/vite.config.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['electron', 'electron/*'],
              message: 'The renderer and shared code never touch Electron.',
            },
            { group: nodeBuiltins, message: 'The renderer and shared code have no Node.' },
            { group: ['**/electron/**'], message: 'Reach main only through the contract.' },
          ],
        },
      ],
    },
  },
  {
    files: ['electron/core/**', 'electron/devices/**', 'electron/formats/**'],
    // A rehearsal device's loopback listener is its transport seen from the other end.
    ignores: ['electron/devices/*/transport.ts', 'electron/devices/*/rehearsal-server.ts'],
    rules: ringRule(),
  },
  {
    files: ['electron/core/**'],
    ignores: ['electron/core/cli/**'],
    rules: ringRule({
      patterns: [
        {
          group: ['**/cli/*'],
          message:
            'The CLI is an entry point, like the window: core never imports it. Move what both need below it (verification/, formats/).',
        },
      ],
    }),
  },
  {
    files: ['electron/devices/**'],
    ignores: [
      'electron/devices/*/ceremony/**',
      'electron/devices/*/transport.ts',
      'electron/devices/*/rehearsal-server.ts',
    ],
    rules: ringRule({ patterns: upwardFromDevices }),
  },
  {
    files: ['electron/devices/*/transport.ts', 'electron/devices/*/rehearsal-server.ts'],
    rules: ringRule({ hardware: null, patterns: upwardFromDevices }),
  },
  {
    files: ['electron/formats/**', 'electron/base/**'],
    rules: ringRule({
      hardware: 'formats and base reach no hardware or network.',
      patterns: upwardFromBase,
    }),
  },
  {
    files: ['electron/devices/**', 'electron/formats/**'],
    rules: {
      'no-restricted-syntax': [
        'error',
        {
          selector:
            'ClassDeclaration[superClass.name=/^(Range|Type)?Error$/], ClassExpression[superClass.name=/^(Range|Type)?Error$/]',
          message:
            'A device or format error extends KindedError from electron/base/errors.ts, so every caller reads error.kind (and the device number under its own name).',
        },
      ],
    },
  },
  {
    files: ['electron/**/*.ts'],
    plugins: { vigil: vigilPlugin },
    rules: { 'vigil/no-import-cycle': 'error' },
  },
  {
    files: ['electron/core/runbook/**'],
    rules: { 'vigil/engine-names-no-family': ['error', pluggedFamilyNames] },
  },
  {
    files: ['electron/main/**', 'electron/preload/**'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: hardwarePaths('Hardware is reached through electron/devices only.'),
          patterns: [
            {
              group: ['**/devices/*/transport*'],
              message: 'Only electron/devices may import a transport.',
            },
          ],
        },
      ],
    },
  },
  {
    files: ['test/**/*.ts', 'scripts/**/*.ts', '*.config.ts', 'renderer/vite.config.ts'],
    languageOptions: { globals: globals.node },
    rules: {
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
    },
  },
  {
    files: ['**/*.js', '**/*.mjs'],
    ...tseslint.configs.disableTypeChecked,
    languageOptions: { globals: globals.node },
  },
);

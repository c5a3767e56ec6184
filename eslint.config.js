// Flat config: type-aware typescript-eslint, Vue, and the ring boundaries of STYLE.md.
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
const nativeModules = ['pkcs11js', 'usb', 'node:https', 'https'];

// Device families plugged into the ceremony engine (electron/ceremony-families.ts). The engine
// names none of them, not even in a comment: a family is its folder and its registry line.
const pluggedFamilyNames = ['nethsm'];

const vigilPlugin = {
  rules: {
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
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: [
            { name: 'electron', message: 'core and devices are plain Node: no electron import.' },
          ],
          patterns: [
            {
              group: nativeModules,
              message: 'Only a device family transport.ts may load native or network modules.',
            },
          ],
        },
      ],
    },
  },
  {
    files: ['electron/core/runbook/**'],
    plugins: { vigil: vigilPlugin },
    rules: { 'vigil/engine-names-no-family': ['error', pluggedFamilyNames] },
  },
  {
    files: ['electron/devices/*/transport.ts', 'electron/devices/*/rehearsal-server.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: [
            { name: 'electron', message: 'core and devices are plain Node: no electron import.' },
          ],
        },
      ],
    },
  },
  {
    files: ['electron/main/**', 'electron/preload/**'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            { group: nativeModules, message: 'Hardware is reached through electron/devices only.' },
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

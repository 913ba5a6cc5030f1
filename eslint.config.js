import js from '@eslint/js';
import tseslint from 'typescript-eslint';

const platformSdks = ['botbuilder', 'botbuilder-*', 'botframework-*', '@slack/*'];

/** DESIGN.md's dependency rule between folders, enforced here. */
const folderRules = [
  {
    files: ['executor/**/*.ts'],
    ignores: ['executor/contract/**'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [
        { group: ['**/bot/**', '**/cards/**'], message: 'executor/ imports nothing from bot/ or cards/.' },
        { group: platformSdks, message: 'Only bot/<platform>/ may import a chat platform SDK.' },
      ] }],
    },
  },
  {
    files: ['executor/contract/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [
        { group: ['../*', '!../contract', '**/bot/**', '**/cards/**'], message: 'The contract depends on nothing but zod.' },
      ] }],
    },
  },
  {
    files: ['bot/**/*.ts', 'cards/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [
        { group: ['**/executor/**', '!**/executor/contract', '!**/executor/contract/**'], message: 'bot/ and cards/ use only executor/contract.' },
        { group: platformSdks, message: 'Only bot/<platform>/ may import a chat platform SDK.' },
      ] }],
    },
  },
  {
    files: ['bot/teams/**/*.ts', 'bot/slack/**/*.ts', 'bot/webchat/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [
        { group: ['**/executor/**', '!**/executor/contract', '!**/executor/contract/**'], message: 'bot/ and cards/ use only executor/contract.' },
      ] }],
    },
  },
  {
    files: ['lib/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [
        { group: ['**/executor/**', '**/bot/**', '**/cards/**'], message: 'lib/ is shared below everything and imports none of it.' },
      ] }],
    },
  },
];

export default tseslint.config(
  { ignores: ['.scratch/**', 'node_modules/**', 'data/**', '.tools/**', 'test-artifacts/**', 'manifest/teams/build/**', 'bot/webchat/public/vendor/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { process: 'readonly', console: 'readonly', Buffer: 'readonly', URL: 'readonly', setTimeout: 'readonly', clearTimeout: 'readonly', setInterval: 'readonly', clearInterval: 'readonly', AbortController: 'readonly', AbortSignal: 'readonly', fetch: 'readonly', TextEncoder: 'readonly', TextDecoder: 'readonly', structuredClone: 'readonly', setImmediate: 'readonly', queueMicrotask: 'readonly' } },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
      'no-console': ['error', { allow: ['warn', 'error'] }],
    },
  },
  ...folderRules,
  {
    files: ['test/**/*.ts', 'bench/**/*.ts', 'bin/**/*', '**/*.mjs'],
    rules: { 'no-console': 'off', '@typescript-eslint/no-unused-expressions': 'off' },
  },
);

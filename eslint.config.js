// One linter for the whole tree: typescript-eslint with type information, so
// that floating promises and explicit `any` are caught.
import js from '@eslint/js'
import tseslint from 'typescript-eslint'

export default tseslint.config(
  { ignores: ['dist/', 'coverage/', '.tap/', 'data/', 'node_modules/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname }
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/await-thenable': 'error',
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/consistent-type-imports': 'error',
      // `const { secret, ...shown } = row` is how a field is left out of a copy.
      '@typescript-eslint/no-unused-vars': ['error', { ignoreRestSiblings: true }]
    }
  },
  {
    // Tenant scoping by construction: a route or plugin reaches a store with
    // its caller's client. Every client's rows at once (EVERY_CLIENT, the
    // provider-wide reads) are for the provider's CLI alone.
    files: ['src/**/*.ts'],
    ignores: ['src/cli/**', 'src/provider/**'],
    rules: {
      'no-restricted-imports': ['error', {
        patterns: [{
          group: ['**/provider/*'],
          message: 'src/provider/ reads every client\'s rows: only the CLI may use it. Pass the caller\'s client ({ clientId }) instead.'
        }]
      }]
    }
  },
  {
    // Migrations are frozen in time and speak to the database untyped.
    files: ['db/migrations/**'],
    rules: { '@typescript-eslint/no-explicit-any': 'off' }
  },
  {
    files: ['eslint.config.js', 'test/loader/*.mjs'],
    ...tseslint.configs.disableTypeChecked
  }
)

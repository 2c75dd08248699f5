// One linter for the whole tree: neostandard for style (JavaScript Standard
// Style, TypeScript included), and typescript-eslint with type information,
// so that floating promises and explicit `any` are caught.
import js from '@eslint/js'
import neostandard from 'neostandard'
import tseslint from 'typescript-eslint'

export default tseslint.config(
  { ignores: ['dist/', 'coverage/', '.tap/', 'data/', 'node_modules/'] },
  js.configs.recommended,
  ...neostandard({ ts: true, noJsx: true }),
  ...tseslint.configs.recommended,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname }
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      // Rows and answers are snake_case, as the columns and the API are: a field is
      // left out of a copy by destructuring it (`const { client_id, ...rest } = row`).
      camelcase: ['error', { properties: 'never', ignoreDestructuring: true }],
      // `void promise` is how a promise is left running on purpose, as no-floating-promises asks.
      'no-void': ['error', { allowAsStatement: true }],
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
    // A route reaches the tables of a client through the accessors bound to
    // its caller's client: logsOf, keysOf, auditOf and usageOf. The functions
    // under them take any client (or every one) and are for those accessors
    // and the CLI alone.
    files: ['src/**/routes.ts'],
    rules: {
      'no-restricted-imports': ['error', {
        patterns: [{
          group: ['**/provider/*'],
          message: 'src/provider/ reads every client\'s rows: only the CLI may use it.'
        }, {
          group: ['./store.ts', './lifecycle.ts', './page.ts', './endpoints.ts', '**/store.ts', '**/lifecycle.ts', '**/page.ts',
            '**/endpoints.ts'],
          importNames: ['findKey', 'createKey', 'createKeyWithAudit', 'rotateKey', 'updateKey', 'revokeKey', 'keysPageOf',
            'auditPageOf', 'listAuditEvents', 'usageDays', 'listEndpoints', 'findEndpoint', 'createEndpoint', 'deleteEndpoint',
            'endpointDeliveries'],
          message: 'A route reads and changes its caller\'s rows through keysOf, auditOf, usageOf or webhooksOf (tenant-*.ts), bound to the client.'
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

// ESLint (flat config): typescript-eslint's recommended rules on src/, test/,
// bench/ and scripts/; formatting is Prettier's (.prettierrc.json).
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['node_modules/', 'runs/', 'schema/', 'bin/', '.stryker-tmp/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      // Unused names are tsc's job (noUnusedLocals/Parameters); a leading _ marks one kept on purpose.
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      // Control characters in patterns are the point where they appear: terminal codes, XML's forbidden characters.
      'no-control-regex': 'off',
    },
  },
  {
    // Tests read JSON reports and recorded data whose shape they check themselves.
    files: ['test/**/*.ts', 'bench/**/*.ts'],
    rules: { '@typescript-eslint/no-explicit-any': 'off' },
  },
);

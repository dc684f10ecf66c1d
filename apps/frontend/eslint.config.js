// @ts-check
import js from '@eslint/js';
import react_hooks from 'eslint-plugin-react-hooks';
import globals from 'globals';
import tseslint from 'typescript-eslint';

/**
 * The grimOS TypeScript naming convention: snake_case variables and parameters, camelCase
 * functions and methods, PascalCase components, classes and types. Components are functions
 * (and values of function type, e.g. `lazy()` or `forwardRef()`), so functions may be PascalCase.
 * Object literal and type properties are free: they mirror the API (snake_case) and React
 * props (camelCase). A leading underscore marks something unused.
 */
const naming_convention = [
  'error',
  { selector: 'default', format: ['snake_case'], leadingUnderscore: 'allow' },
  { selector: 'import', format: null },
  {
    selector: 'variable',
    format: ['snake_case', 'UPPER_CASE'],
    leadingUnderscore: 'allow',
  },
  {
    selector: 'variable',
    types: ['function'],
    format: ['camelCase', 'PascalCase'],
    leadingUnderscore: 'allow',
  },
  { selector: 'variable', modifiers: ['destructured'], format: null },
  { selector: 'parameter', modifiers: ['destructured'], format: null },
  { selector: 'parameter', format: ['snake_case'], leadingUnderscore: 'allow' },
  { selector: 'function', format: ['camelCase', 'PascalCase'] },
  { selector: ['method', 'accessor'], format: ['camelCase'] },
  { selector: ['classProperty', 'parameterProperty'], format: ['snake_case'] },
  {
    selector: ['objectLiteralProperty', 'typeProperty', 'objectLiteralMethod', 'typeMethod'],
    format: null,
  },
  { selector: 'typeLike', format: ['PascalCase'] },
  { selector: 'enumMember', format: ['PascalCase'] },
];

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'src/api/schema.ts', 'coverage/**'] },
  {
    files: ['**/*.{ts,tsx}'],
    extends: [js.configs.recommended, ...tseslint.configs.strictTypeChecked],
    languageOptions: {
      ecmaVersion: 2023,
      globals: globals.browser,
      parserOptions: {
        projectService: true,
        tsconfigRootDir: import.meta.dirname,
      },
    },
    plugins: { 'react-hooks': react_hooks },
    rules: {
      ...react_hooks.configs.recommended.rules,
      '@typescript-eslint/naming-convention': naming_convention,
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrorsIgnorePattern: '^_' },
      ],
      '@typescript-eslint/restrict-template-expressions': ['error', { allowNumber: true }],
      '@typescript-eslint/no-confusing-void-expression': 'off',
      '@typescript-eslint/no-misused-promises': [
        'error',
        { checksVoidReturn: { attributes: false } },
      ],
    },
  },
  {
    files: ['**/*.{js,mjs}'],
    extends: [js.configs.recommended],
    languageOptions: { ecmaVersion: 2023, sourceType: 'module', globals: globals.node },
  },
  {
    // End-to-end specs also hold functions that run in the page (page.evaluate).
    files: ['e2e/**/*.mjs'],
    languageOptions: { globals: { ...globals.node, ...globals.browser } },
  },
);

// `npm run lint:ts`: ESLint with typescript-eslint's type-aware rules over the
// TypeScript (src/, test/, scripts/, with the types tsconfig.check.json gives
// them) and the build scripts in plain JavaScript.
import comments from '@eslint-community/eslint-plugin-eslint-comments/configs';
import js from '@eslint/js';
import { defineConfig } from 'eslint/config';
import globals from 'globals';
import tseslint from 'typescript-eslint';

export default defineConfig(
  { ignores: ['dist/', 'native/target/'] },
  js.configs.recommended,
  tseslint.configs.strictTypeChecked,
  // An eslint-disable comment names its rules and gives its reason, after `--` in the same comment.
  comments.recommended,
  {
    languageOptions: {
      parserOptions: { project: './tsconfig.check.json', tsconfigRootDir: import.meta.dirname },
    },
    linterOptions: { reportUnusedDisableDirectives: 'error' },
    rules: {
      '@eslint-community/eslint-comments/require-description': 'error',
      // With noUncheckedIndexedAccess, `frames[i]!` is how the code says an
      // index is known to be in range; the rule would have it written as a
      // check that cannot fail.
      '@typescript-eslint/no-non-null-assertion': 'off',
      // Numbers (bigints too), booleans and regular expressions print as
      // expected in a message; what the rule still catches is a value that
      // prints as `undefined`, `null` or `[object Object]`. (Options left out
      // take the rule's lenient defaults, not the strict config's, so all are
      // spelled out.)
      '@typescript-eslint/restrict-template-expressions': [
        'error',
        { allowNumber: true, allowBoolean: true, allowRegExp: true, allowAny: false, allowNullish: false, allowArray: false, allowNever: false },
      ],
      // Style only: `(x) => log(x)` for a callback that returns nothing is as
      // clear as the braced form the rule asks for.
      '@typescript-eslint/no-confusing-void-expression': 'off',
      // An async function with no await is how a method keeps the promise its
      // interface or callers expect (OfprotoDpif.revalidated(), a benchmark
      // switch's up()), a throw turning into a rejection; the await that is
      // missing for real is no-floating-promises' to find.
      '@typescript-eslint/require-await': 'off',
    },
  },
  {
    files: ['test/**/*.test.ts'],
    rules: {
      // Vitest's asymmetric matchers (expect.stringContaining(), expect.any())
      // are typed `any` so that they fit any expected shape; what such an
      // `any` flows into is the matcher's to check.
      '@typescript-eslint/no-unsafe-assignment': 'off',
      // A variable set in beforeAll is typed as always set, but a hook that
      // failed leaves it unset, and the `?.` in the cleanup hook is what keeps
      // a TypeError there from hiding that failure.
      '@typescript-eslint/no-unnecessary-condition': 'off',
    },
  },
  {
    // The build and install scripts (and this file) are plain JavaScript,
    // which tsc does not see: they get the rules that need no types.
    files: ['**/*.js', '**/*.mjs'],
    extends: [tseslint.configs.disableTypeChecked],
    languageOptions: { globals: globals.node },
  },
);

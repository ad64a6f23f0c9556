// House style: neostandard (standard's rules for modern JS and TypeScript),
// plus the two limits the style guide sets on top of it.
import neostandard from 'neostandard'

export default [
  // The compiled package (npm run build) is generated code.
  { ignores: ['dist/**'] },
  ...neostandard({ ts: true, ignores: ['node_modules/**', 'dist/**', 'coverage/**', 'test/**/fixtures/**/*.json'] }),
  {
    rules: {
      // Long lines hide logic; 160 leaves room for a message string beside its condition.
      '@stylistic/max-len': ['error', { code: 160, ignoreUrls: true }],
      // More than four positional arguments get swapped at call sites: take an options object.
      'max-params': ['error', 4],
      // `void promise` marks a deliberate fire-and-forget; elsewhere void stays banned.
      'no-void': ['error', { allowAsStatement: true }]
    }
  }
]

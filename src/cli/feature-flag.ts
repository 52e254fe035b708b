// `--feature NAME`: which image feature a measuring command computes (the library's by default;
// `legacy` is what libraries stored before, for before/after numbers).
import { FEATURES, type FeatureSpec } from '../core/embed/backbone.ts'
import { CliError } from './args.ts'

export function featureFlag(value: string | undefined): FeatureSpec | undefined {
  if (value === undefined) return undefined
  const spec = FEATURES[value]
  if (!spec) throw new CliError(`--feature must be ${Object.keys(FEATURES).join(' or ')}, got "${value}"`)
  return spec
}

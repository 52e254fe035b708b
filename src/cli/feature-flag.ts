// `--feature NAME`: which image feature a measuring command computes (the library's by default;
// `region-crop` and `legacy` are what libraries stored before, for before/after numbers).
import { FEATURES, type FeatureSpec } from '../core/embed/backbone.ts'
import { CliError } from './args.ts'

export function featureFlag(value: string | undefined): FeatureSpec | undefined {
  if (value === undefined) return undefined
  const spec = FEATURES[value]
  if (!spec) {
    const names = Object.keys(FEATURES)
    throw new CliError(`--feature must be ${names.slice(0, -1).join(', ')} or ${names.at(-1)}, got "${value}"`)
  }
  return spec
}

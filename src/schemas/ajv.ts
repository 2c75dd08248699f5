// How request schemas are applied, everywhere: query strings coerced from
// text, defaults filled in, and unknown properties refused (never silently
// dropped, so a mistyped filter cannot quietly widen a query).
export const REQUEST_AJV_OPTIONS = { removeAdditional: false, coerceTypes: 'array', useDefaults: true } as const

// Colours of the histogram's stacks: the usual statuses and levels keep
// theirs (failures red, successes green), anything else takes the next of a
// palette. Fills, not text: each stands out from both themes' backgrounds.
const NAMED: Record<string, string> = {
  SUCCESS: '#16a34a',
  OK: '#16a34a',
  FAILURE: '#dc2626',
  FAILED: '#dc2626',
  ERROR: '#dc2626',
  RUNNING: '#2563eb',
  SKIPPED: '#8b8f98',
  WARNING: '#d97706',
  trace: '#8b8f98',
  debug: '#0891b2',
  info: '#2563eb',
  warn: '#d97706',
  error: '#dc2626',
  fatal: '#9333ea'
}

const PALETTE = ['#7c3aed', '#0d9488', '#db2777', '#ca8a04', '#4f46e5', '#059669', '#ea580c', '#0284c7', '#be123c', '#65a30d']

export const OTHER_COLOR = '#a3a3a3'

export function colorFor (value: string, index: number): string {
  return NAMED[value] ?? PALETTE[index % PALETTE.length] ?? OTHER_COLOR
}

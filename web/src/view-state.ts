// The whole view lives in the URL's fragment (#q=…&level=error&range=1h&log=…),
// so a link reopens it for a colleague signed in with their own key; the
// fragment never reaches the server, and the key is never part of it.
export const PRESETS = [
  { id: '15m', label: '15 min', ms: 15 * 60_000 },
  { id: '1h', label: '1 h', ms: 60 * 60_000 },
  { id: '24h', label: '24 h', ms: 24 * 60 * 60_000 },
  { id: '7d', label: '7 d', ms: 7 * 24 * 60 * 60_000 }
] as const

export type PresetId = typeof PRESETS[number]['id']
export type GroupBy = 'status' | 'level'

export interface ViewState {
  view: 'explore' | 'keys'
  q: string
  status: string
  level: string
  environment: string
  workflow_id: string
  /** A preset counted back from now, or `custom` between from and to. */
  range: PresetId | 'custom'
  from: string
  to: string
  group: GroupBy
  /** The entry opened, by id. */
  log: string
  live: boolean
}

export const DEFAULT_STATE: ViewState = {
  view: 'explore',
  q: '',
  status: '',
  level: '',
  environment: '',
  workflow_id: '',
  range: '24h',
  from: '',
  to: '',
  group: 'status',
  log: '',
  live: false
}

const TEXT_FIELDS = ['q', 'status', 'level', 'environment', 'workflow_id', 'log'] as const

function isPreset (value: string): value is PresetId {
  return PRESETS.some((preset) => preset.id === value)
}

function isTime (value: string): boolean {
  return value !== '' && !Number.isNaN(Date.parse(value))
}

export function parseState (hash: string): ViewState {
  const params = new URLSearchParams(hash.replace(/^#/, ''))
  const state: ViewState = { ...DEFAULT_STATE }
  for (const field of TEXT_FIELDS) state[field] = params.get(field) ?? ''
  if (params.get('view') === 'keys') state.view = 'keys'
  const range = params.get('range') ?? ''
  const from = params.get('from') ?? ''
  const to = params.get('to') ?? ''
  if (range === 'custom' && isTime(from) && isTime(to) && Date.parse(from) < Date.parse(to)) {
    Object.assign(state, { range: 'custom', from: new Date(from).toISOString(), to: new Date(to).toISOString() })
  } else if (isPreset(range)) {
    state.range = range
  }
  if (params.get('group') === 'level') state.group = 'level'
  state.live = params.get('live') === '1'
  return state
}

/** The fragment for a state, naming only what differs from the defaults. */
export function formatState (state: ViewState): string {
  const params = new URLSearchParams()
  if (state.view !== 'explore') params.set('view', state.view)
  for (const field of TEXT_FIELDS) if (state[field] !== '') params.set(field, state[field])
  if (state.range !== DEFAULT_STATE.range) params.set('range', state.range)
  if (state.range === 'custom') {
    params.set('from', state.from)
    params.set('to', state.to)
  }
  if (state.group !== DEFAULT_STATE.group) params.set('group', state.group)
  if (state.live) params.set('live', '1')
  const text = params.toString()
  return text === '' ? '' : `#${text}`
}

/** The link to a state on this page, for sharing. */
export function linkTo (state: ViewState): string {
  return `${location.origin}${location.pathname}${formatState(state)}`
}

export interface TimeRange {
  from: Date
  to: Date
}

export function resolveRange (state: ViewState, now = Date.now()): TimeRange {
  if (state.range === 'custom') return { from: new Date(state.from), to: new Date(state.to) }
  const preset = PRESETS.find((candidate) => candidate.id === state.range) ?? PRESETS[2]
  return { from: new Date(now - preset.ms), to: new Date(now) }
}

export type Interval = 'minute' | 'hour' | 'day'

/** Buckets for the histogram: a few dozen to a few hundred bars, never past the service's 1,500. */
export function intervalFor ({ from, to }: TimeRange): Interval {
  const span = to.getTime() - from.getTime()
  if (span <= 6 * 3_600_000) return 'minute'
  if (span <= 31 * 86_400_000) return 'hour'
  return 'day'
}

/** The listing's filters of a state, as query parameters (the time range apart). */
export function filterQuery (state: ViewState): Record<string, string | undefined> {
  return {
    q: state.q || undefined,
    status: state.status || undefined,
    level: state.level || undefined,
    environment: state.environment || undefined,
    workflow_id: state.workflow_id || undefined
  }
}

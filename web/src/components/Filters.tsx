// The search box, the filters and the time range. Text is applied on Enter
// (or when a field is left), a choice at once; each lands in the URL.
import { useEffect, useState } from 'preact/hooks'
import { fromLocalInput, toLocalInput } from '../format.ts'
import type { UpdateState } from '../use-view-state.ts'
import { PRESETS, resolveRange, type ViewState } from '../view-state.ts'

const LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal']

interface TextFieldProps {
  id: string
  label: string
  value: string
  placeholder?: string
  list?: string
  type?: 'text' | 'search'
  onCommit: (value: string) => void
}

/** A text field that commits its value on Enter or when left, and follows the URL otherwise. */
function TextField ({ id, label, value, placeholder, list, type = 'text', onCommit }: TextFieldProps) {
  const [draft, setDraft] = useState(value)
  useEffect(() => { setDraft(value) }, [value])
  const commit = (): void => { if (draft.trim() !== value) onCommit(draft.trim()) }
  return (
    <div class={`field field-${id}`}>
      <label for={`filter-${id}`}>{label}</label>
      <input
        id={`filter-${id}`}
        type={type}
        value={draft}
        placeholder={placeholder}
        list={list}
        autocomplete='off'
        onInput={(event) => { setDraft(event.currentTarget.value) }}
        onKeyDown={(event) => { if (event.key === 'Enter') commit() }}
        onBlur={commit}
      />
    </div>
  )
}

export function Filters ({ state, update, statuses }: { state: ViewState, update: UpdateState, statuses: string[] }) {
  const [customOpen, setCustomOpen] = useState(state.range === 'custom')
  const range = resolveRange(state)
  const [from, setFrom] = useState(toLocalInput(range.from))
  const [to, setTo] = useState(toLocalInput(range.to))
  useEffect(() => {
    if (state.range !== 'custom') return
    setFrom(toLocalInput(new Date(state.from)))
    setTo(toLocalInput(new Date(state.to)))
    setCustomOpen(true)
  }, [state.range, state.from, state.to])
  const [rangeError, setRangeError] = useState<string>()

  const applyCustom = (event: Event): void => {
    event.preventDefault()
    const start = fromLocalInput(from)
    const end = fromLocalInput(to)
    if (start === undefined || end === undefined || start >= end) {
      setRangeError('Give a start before the end.')
      return
    }
    setRangeError(undefined)
    update({ range: 'custom', from: start.toISOString(), to: end.toISOString(), log: '' })
  }

  return (
    <section class='filters' aria-label='Search and filters'>
      <form class='search' role='search' onSubmit={(event) => { event.preventDefault() }}>
        <TextField id='q' label='Search' type='search' placeholder='Text in the message, any case' value={state.q} onCommit={(q) => { update({ q, log: '' }) }} />
      </form>
      <div class='field-row'>
        <TextField id='status' label='Status' placeholder='any' list='known-statuses' value={state.status} onCommit={(status) => { update({ status: status.toUpperCase(), log: '' }) }} />
        <datalist id='known-statuses'>{statuses.map((status) => <option key={status} value={status} />)}</datalist>
        <div class='field'>
          <label for='filter-level'>Level</label>
          <select id='filter-level' value={state.level} onChange={(event) => { update({ level: event.currentTarget.value, log: '' }) }}>
            <option value=''>any</option>
            {LEVELS.map((level) => <option key={level} value={level}>{level}</option>)}
          </select>
        </div>
        <TextField id='environment' label='Environment' placeholder='any' value={state.environment} onCommit={(environment) => { update({ environment, log: '' }) }} />
        <TextField id='workflow' label='Workflow' placeholder='workflow_id' value={state.workflow_id} onCommit={(workflowId) => { update({ workflow_id: workflowId, log: '' }) }} />
      </div>
      <div class='range' role='group' aria-label='Time range'>
        {PRESETS.map((preset) => (
          <button
            key={preset.id}
            type='button'
            class='toggle'
            aria-pressed={state.range === preset.id}
            onClick={() => { setCustomOpen(false); update({ range: preset.id, from: '', to: '', log: '' }) }}
          >
            {preset.label}
          </button>
        ))}
        <button type='button' class='toggle' aria-pressed={state.range === 'custom'} aria-expanded={customOpen} onClick={() => { setCustomOpen(!customOpen) }}>
          Custom…
        </button>
      </div>
      {customOpen && (
        <form class='custom-range' onSubmit={applyCustom}>
          <div class='field'>
            <label for='range-from'>From</label>
            <input id='range-from' type='datetime-local' value={from} onInput={(event) => { setFrom(event.currentTarget.value) }} />
          </div>
          <div class='field'>
            <label for='range-to'>To</label>
            <input id='range-to' type='datetime-local' value={to} onInput={(event) => { setTo(event.currentTarget.value) }} />
          </div>
          <button type='submit'>Apply range</button>
          {rangeError !== undefined && <span class='inline-error' role='alert'>{rangeError}</span>}
        </form>
      )}
    </section>
  )
}

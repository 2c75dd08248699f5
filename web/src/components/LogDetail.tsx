// One entry with every field, its attributes and the whole entry as
// formatted JSON, and a link that reopens it (the view's URL).
import { useEffect, useRef, useState } from 'preact/hooks'
import { localTime } from '../format.ts'
import type { LogEntry } from '../types.ts'

const FIELDS: Array<[keyof LogEntry, string]> = [
  ['id', 'id'], ['executed_at', 'executed at'], ['received_at', 'received at'], ['level', 'level'], ['status', 'status'],
  ['environment', 'environment'], ['workflow_id', 'workflow id'], ['workflow_name', 'workflow name'], ['run_id', 'run id'],
  ['step', 'step'], ['duration_ms', 'duration (ms)'], ['trace_id', 'trace id'], ['event_id', 'event id']
]

function shown (log: LogEntry, field: keyof LogEntry): string {
  const value = log[field]
  if (value === null || value === undefined) return '—'
  if (field === 'executed_at' || field === 'received_at') return `${localTime(String(value))} (${String(value)})`
  return typeof value === 'object' ? JSON.stringify(value) : String(value)
}

async function copy (text: string): Promise<boolean> {
  try {
    await navigator.clipboard.writeText(text)
    return true
  } catch {
    return false
  }
}

export function LogDetail ({ log, link, error, onClose }: { log: LogEntry | undefined, link: string, error: string | undefined, onClose: () => void }) {
  const heading = useRef<HTMLHeadingElement>(null)
  const [copied, setCopied] = useState<'yes' | 'no'>()
  useEffect(() => {
    heading.current?.focus()
    setCopied(undefined)
  }, [log?.id])

  return (
    <aside class='panel detail' aria-labelledby='detail-title' onKeyDown={(event) => { if (event.key === 'Escape') onClose() }}>
      <div class='panel-head'>
        <h2 id='detail-title' tabIndex={-1} ref={heading}>Log entry</h2>
        <button type='button' class='secondary' onClick={() => { void copy(link).then((ok) => { setCopied(ok ? 'yes' : 'no') }) }}>Copy link</button>
        <button type='button' class='secondary' onClick={onClose}>Close</button>
      </div>
      <p class='small' role='status'>
        {copied === 'yes' && 'Link copied: it opens this entry for anyone signed in with a key of this client.'}
        {copied === 'no' && <>Copy this link: <input class='copy-field' readOnly value={link} aria-label='Link to this entry' onFocus={(event) => { event.currentTarget.select() }} /></>}
      </p>
      {error !== undefined && <p class='inline-error' role='alert'>{error}</p>}
      {log === undefined && error === undefined && <p class='muted'>Loading…</p>}
      {log !== undefined && (
        <>
          <dl class='fields'>
            {FIELDS.map(([field, label]) => <div key={field}><dt>{label}</dt><dd>{shown(log, field)}</dd></div>)}
          </dl>
          <h3>Message</h3>
          <pre class='message-text'>{log.message ?? '—'}</pre>
          <h3>Attributes</h3>
          <pre class='json' aria-label='Attributes as JSON'>{JSON.stringify(log.attributes ?? {}, null, 2)}</pre>
          <details>
            <summary>The whole entry as JSON</summary>
            <pre class='json'>{JSON.stringify(log, null, 2)}</pre>
          </details>
        </>
      )}
    </aside>
  )
}

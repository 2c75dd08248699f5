// Keys (needs keys:manage): the client's keys with their state, last use and
// coming expiry; create (the key shown once), rotate with a grace, revoke
// after a confirmation; and the client's usage per day.
import { useCallback, useEffect, useState } from 'preact/hooks'
import { describeError, type Api } from '../api.ts'
import { bytes, count, localTime, relative } from '../format.ts'
import type { CreatedKey, KeyList, KeyView, UsageReport, Whoami } from '../types.ts'
import { Dialog } from './Dialog.tsx'
import { Notice } from './Notice.tsx'
import { UsageChart } from './UsageChart.tsx'

const SCOPES = ['logs:write', 'logs:read', 'keys:manage']
const LIFETIMES = [
  { label: 'never expires', seconds: undefined },
  { label: '30 days', seconds: 30 * 86_400 },
  { label: '90 days', seconds: 90 * 86_400 },
  { label: '1 year', seconds: 365 * 86_400 }
]
const GRACES = [
  { label: 'none: the old key stops now', seconds: 0 },
  { label: '1 hour', seconds: 3_600 },
  { label: '24 hours', seconds: 86_400 },
  { label: '7 days', seconds: 7 * 86_400 }
]
/** At most this many keys are listed (pages of the listing). */
const MAX_KEYS = 1000

type Pending = { kind: 'rotate', key: KeyView } | { kind: 'revoke', key: KeyView }

function keyLabel (key: KeyView): string {
  return `${key.name ?? 'unnamed key'} (${key.prefix}…)`
}

function ShownOnce ({ title, apiKey, onDone }: { title: string, apiKey: string, onDone: () => void }) {
  const [copied, setCopied] = useState<boolean>()
  return (
    <div class='panel shown-once' role='region' aria-labelledby='shown-once-title'>
      <h3 id='shown-once-title'>{title}</h3>
      <p>Copy it now: it is shown this once, and only its hash is kept.</p>
      <div class='copy-row'>
        <input class='copy-field' readOnly value={apiKey} aria-label='The new API key' onFocus={(event) => { event.currentTarget.select() }} />
        <button type='button' onClick={() => { navigator.clipboard.writeText(apiKey).then(() => { setCopied(true) }, () => { setCopied(false) }) }}>Copy</button>
        <button type='button' class='secondary' onClick={onDone}>Done</button>
      </div>
      <p class='small' role='status'>{copied === true ? 'Copied.' : copied === false ? 'The browser refused to copy: select the key and copy it yourself.' : ''}</p>
    </div>
  )
}

function CreateKey ({ api, who, onCreated }: { api: Api, who: Whoami, onCreated: (created: CreatedKey) => void }) {
  const [name, setName] = useState('')
  const [scopes, setScopes] = useState(['logs:write', 'logs:read'].filter((scope) => who.scopes.includes(scope)))
  const [lifetime, setLifetime] = useState(0)
  const [busy, setBusy] = useState(false)
  const [error, setError] = useState<string>()
  const submit = (event: Event): void => {
    event.preventDefault()
    setBusy(true)
    setError(undefined)
    const seconds = LIFETIMES[lifetime]?.seconds
    api.send<CreatedKey>('POST', '/api/v1/keys', {
      ...(name.trim() === '' ? {} : { name: name.trim() }), scopes, ...(seconds === undefined ? {} : { expires_in_seconds: seconds })
    }).then((created) => {
      setName('')
      onCreated(created)
    }, (failure: unknown) => { setError(describeError(failure)) }).finally(() => { setBusy(false) })
  }
  return (
    <form class='panel create-key' onSubmit={submit} aria-labelledby='create-title'>
      <h3 id='create-title'>Create a key</h3>
      {error !== undefined && <Notice kind='error'>{error}</Notice>}
      <div class='field-row'>
        <div class='field'>
          <label for='key-name'>Name</label>
          <input id='key-name' value={name} maxLength={128} placeholder='e.g. nightly ETL' onInput={(event) => { setName(event.currentTarget.value) }} />
        </div>
        <fieldset class='field scopes'>
          <legend>Scopes</legend>
          {SCOPES.map((scope) => (
            <label key={scope} class='check'>
              <input
                type='checkbox'
                checked={scopes.includes(scope)}
                disabled={!who.scopes.includes(scope)}
                onChange={(event) => { setScopes(event.currentTarget.checked ? [...scopes, scope] : scopes.filter((held) => held !== scope)) }}
              />
              {scope}
            </label>
          ))}
        </fieldset>
        <div class='field'>
          <label for='key-lifetime'>Expires</label>
          <select id='key-lifetime' value={lifetime} onChange={(event) => { setLifetime(Number(event.currentTarget.value)) }}>
            {LIFETIMES.map((option, index) => <option key={option.label} value={index}>{option.label}</option>)}
          </select>
        </div>
        <button type='submit' disabled={busy || scopes.length === 0}>Create key</button>
      </div>
    </form>
  )
}

function KeyRow ({ keyView, onRotate, onRevoke }: { keyView: KeyView, onRotate: () => void, onRevoke: () => void }) {
  const usable = keyView.status === 'active' || keyView.status === 'grace'
  const ends = keyView.status === 'grace' ? keyView.grace_ends_at : keyView.expires_at
  return (
    <tr>
      <td>{keyView.name ?? <span class='muted'>unnamed</span>}{keyView.current && <span class='tag'>this key</span>}</td>
      <td><code>{keyView.prefix}…</code></td>
      <td>{keyView.scopes.join(', ')}</td>
      <td><span class={`key-status key-${keyView.status}`}>{keyView.status}</span></td>
      <td title={keyView.created_at}>{localTime(keyView.created_at).slice(0, 16)}</td>
      <td title={keyView.last_used_address ?? undefined}>{keyView.last_used_at === null ? <span class='muted'>never</span> : relative(keyView.last_used_at)}</td>
      <td class={keyView.expiring_soon ? 'expiring' : ''}>
        {ends === null ? <span class='muted'>never</span> : <span title={ends}>{relative(ends)}</span>}
        {keyView.expiring_soon && <span class='warning-text'> expires soon</span>}
      </td>
      <td class='actions'>
        {keyView.status === 'active' && <button type='button' class='secondary' onClick={onRotate} aria-label={`Rotate ${keyLabel(keyView)}`}>Rotate</button>}
        {usable && <button type='button' class='danger-outline' onClick={onRevoke} aria-label={`Revoke ${keyLabel(keyView)}`}>Revoke</button>}
      </td>
    </tr>
  )
}

export function Keys ({ api, who, onSignOut }: { api: Api, who: Whoami, onSignOut: (message?: string) => void }) {
  const [keys, setKeys] = useState<KeyView[]>()
  const [usage, setUsage] = useState<UsageReport>()
  const [error, setError] = useState<string>()
  const [shown, setShown] = useState<{ title: string, apiKey: string }>()
  const [pending, setPending] = useState<Pending>()
  const [grace, setGrace] = useState(2)
  const [busy, setBusy] = useState(false)
  const [notice, setNotice] = useState<string>()

  const load = useCallback(async () => {
    const all: KeyView[] = []
    let cursor: string | null | undefined
    do {
      const page: KeyList = await api.get<KeyList>('/api/v1/keys', { limit: 1000, cursor: cursor ?? undefined })
      all.push(...page.data)
      cursor = page.next_cursor
    } while (cursor !== null && all.length < MAX_KEYS)
    setKeys(all)
  }, [api])

  useEffect(() => {
    load().catch((failure: unknown) => { setError(describeError(failure)) })
    api.get<UsageReport>('/api/v1/usage').then(setUsage, (failure: unknown) => { setError(describeError(failure)) })
  }, [api, load])

  const act = async (): Promise<void> => {
    if (pending === undefined) return
    setBusy(true)
    setError(undefined)
    try {
      if (pending.kind === 'rotate') {
        const seconds = GRACES[grace]?.seconds ?? 86_400
        const rotated = await api.send<CreatedKey>('POST', `/api/v1/keys/${pending.key.id}/rotate`, { grace_seconds: seconds })
        setShown({ title: `The new key replacing ${keyLabel(pending.key)}`, apiKey: rotated.api_key })
      } else {
        await api.send('DELETE', `/api/v1/keys/${pending.key.id}`, undefined, pending.key.current ? { allow_self: 'true' } : {})
        if (pending.key.current) {
          onSignOut('The key you were signed in with was revoked.')
          return
        }
        setNotice(`${keyLabel(pending.key)} is revoked.`)
      }
      setPending(undefined)
      await load()
    } catch (failure) {
      setError(describeError(failure))
      setPending(undefined)
    } finally {
      setBusy(false)
    }
  }

  return (
    <div class='keys'>
      <h2>Keys of {who.client_name}</h2>
      {error !== undefined && <Notice kind='error'>{error}</Notice>}
      {notice !== undefined && <Notice kind='info'>{notice}</Notice>}
      {shown !== undefined && <ShownOnce title={shown.title} apiKey={shown.apiKey} onDone={() => { setShown(undefined) }} />}
      <CreateKey api={api} who={who} onCreated={(created) => {
        setShown({ title: `The new key ${keyLabel(created.key)}`, apiKey: created.api_key })
        load().catch((failure: unknown) => { setError(describeError(failure)) })
      }} />
      <section class='panel' aria-labelledby='keys-title'>
        <h3 id='keys-title'>Keys</h3>
        {keys === undefined
          ? <p class='muted'>Loading…</p>
          : (
            <div class='table-wrap'>
              <table class='keys-table'>
                <thead>
                  <tr><th scope='col'>Name</th><th scope='col'>Key</th><th scope='col'>Scopes</th><th scope='col'>Status</th><th scope='col'>Created</th><th scope='col'>Last used</th><th scope='col'>Expires</th><th scope='col'><span class='sr-only'>Actions</span></th></tr>
                </thead>
                <tbody>
                  {keys.map((key) => (
                    <KeyRow key={key.id} keyView={key} onRotate={() => { setPending({ kind: 'rotate', key }) }} onRevoke={() => { setPending({ kind: 'revoke', key }) }} />
                  ))}
                </tbody>
              </table>
            </div>
            )}
      </section>
      <section class='panel' aria-labelledby='usage-title'>
        <h3 id='usage-title'>Usage per day</h3>
        {usage === undefined
          ? <p class='muted'>Loading…</p>
          : (
            <>
              <p class='muted small'>
                {usage.from} to {usage.to}: {count(usage.total.requests)} requests ({count(usage.total.rejected_requests)} refused,
                {' '}{count(usage.total.rate_limited)} rate-limited), {count(usage.total.logs_accepted)} logs accepted; {bytes(usage.storage.stored_bytes)} stored
                {usage.storage.quota_bytes === null ? '' : ` of ${bytes(usage.storage.quota_bytes)}`}.
              </p>
              <UsageChart report={usage} />
              <ul class='legend'><li><span class='swatch swatch-logs' aria-hidden='true' />logs accepted</li><li><span class='swatch swatch-requests' aria-hidden='true' />requests</li></ul>
            </>
            )}
      </section>
      {pending?.kind === 'rotate' && (
        <Dialog title={`Rotate ${keyLabel(pending.key)}?`} confirm='Rotate' busy={busy} onConfirm={() => { void act() }} onCancel={() => { setPending(undefined) }}>
          <p>A new key with the same scopes is made and shown once. The old key keeps working during the grace period, so that whatever uses it can be given the new one.</p>
          <label for='rotate-grace'>Grace period</label>
          <select id='rotate-grace' value={grace} onChange={(event) => { setGrace(Number(event.currentTarget.value)) }}>
            {GRACES.map((option, index) => <option key={option.label} value={index}>{option.label}</option>)}
          </select>
        </Dialog>
      )}
      {pending?.kind === 'revoke' && (
        <Dialog title={`Revoke ${keyLabel(pending.key)}?`} confirm='Revoke' danger busy={busy} onConfirm={() => { void act() }} onCancel={() => { setPending(undefined) }}>
          <p>Every request with it is refused at once, on every instance. This cannot be undone.</p>
          {pending.key.current && <p><strong>This is the key you are signed in with: you will be signed out.</strong></p>}
        </Dialog>
      )}
    </div>
  )
}

// The page: sign-in until a key is accepted, then what the key may do:
// Explore with logs:read, Keys with keys:manage, a word of explanation for a
// key that may do neither here (a logs:write key for a shipper).
import { useCallback, useEffect, useMemo, useState } from 'preact/hooks'
import { Api, ApiError, describeError } from '../api.ts'
import { forgetKey, storedKey, storeKey } from '../session.ts'
import type { Whoami } from '../types.ts'
import { useViewState } from '../use-view-state.ts'
import { Explore } from './Explore.tsx'
import { Keys } from './Keys.tsx'
import { Notice } from './Notice.tsx'
import { SignIn } from './SignIn.tsx'

export function App () {
  const [key, setKey] = useState(storedKey)
  const [who, setWho] = useState<Whoami>()
  const [signInMessage, setSignInMessage] = useState<string>()
  const [error, setError] = useState<string>()
  const [state, update] = useViewState()

  const signOut = useCallback((message?: string) => {
    forgetKey()
    setKey(undefined)
    setWho(undefined)
    setSignInMessage(message)
  }, [])
  const api = useMemo(() => key === undefined
    ? undefined
    : new Api(key, { onUnauthorized: (refusal) => { signOut(`Signed out: ${refusal.message}`) } }), [key, signOut])

  // A key kept in this tab from before (a reload): asked again what it may do.
  useEffect(() => {
    if (api === undefined || who !== undefined) return
    api.get<Whoami>('/api/v1/whoami').then(setWho, (failure: unknown) => {
      if (!(failure instanceof ApiError && failure.status === 401)) setError(describeError(failure))
    })
  }, [api, who])

  if (api === undefined) {
    return (
      <SignIn
        message={signInMessage}
        onSignedIn={(newKey, identity) => {
          storeKey(newKey)
          setSignInMessage(undefined)
          setError(undefined)
          setWho(identity)
          setKey(newKey)
        }}
      />
    )
  }

  const canRead = who?.scopes.includes('logs:read') === true
  const canManage = who?.scopes.includes('keys:manage') === true
  const view = state.view === 'keys' && canManage ? 'keys' : 'explore'
  return (
    <div class='app'>
      <header class='topbar'>
        <h1 class='brand'>central-logger <span class='muted'>log explorer</span></h1>
        {who !== undefined && (canRead || canManage) && (
          <nav aria-label='Views'>
            {canRead && <a href='#' aria-current={view === 'explore' ? 'page' : undefined} onClick={(event) => { event.preventDefault(); update({ view: 'explore' }) }}>Explore</a>}
            {canManage && <a href='#view=keys' aria-current={view === 'keys' ? 'page' : undefined} onClick={(event) => { event.preventDefault(); update({ view: 'keys', log: '' }) }}>Keys</a>}
          </nav>
        )}
        <div class='who'>
          {who !== undefined && <span class='muted' title={`key ${who.key_prefix}…, scopes ${who.scopes.join(' ')}`}>{who.client_name} · {who.key_prefix}…</span>}
          <button type='button' class='secondary' onClick={() => { signOut() }}>Sign out</button>
        </div>
      </header>
      <main id='main'>
        {error !== undefined && <Notice kind='error'>{error}</Notice>}
        {who?.ends_at != null && <KeyEndsNotice who={who} />}
        {who !== undefined && !canRead && !canManage && (
          <Notice kind='warning'>
            This key cannot read logs: it has {who.scopes.join(', ') || 'no scope'} only, which lets a program send logs but not read them.
            Sign out and sign in with a key that has <code>logs:read</code>.
          </Notice>
        )}
        {who !== undefined && !canRead && canManage && view === 'explore' && (
          <Notice kind='warning'>This key cannot read logs (it lacks <code>logs:read</code>); it can manage keys.</Notice>
        )}
        {who !== undefined && canRead && view === 'explore' && <Explore api={api} state={state} update={update} />}
        {who !== undefined && canManage && (view === 'keys' || !canRead) && <Keys api={api} who={who} onSignOut={signOut} />}
      </main>
    </div>
  )
}

function KeyEndsNotice ({ who }: { who: Whoami }) {
  if (who.ends_at === null) return null
  const days = (new Date(who.ends_at).getTime() - Date.now()) / 86_400_000
  if (days > 14) return null
  const when = new Date(who.ends_at).toLocaleString()
  return (
    <Notice kind='warning'>
      {who.in_grace ? 'This key was rotated: it' : 'This key'} stops working on {when}. Ask for a new one, or rotate it under Keys.
    </Notice>
  )
}

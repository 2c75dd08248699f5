// Sign-in: the key is checked with GET /api/v1/whoami before it is kept, so
// a mistyped key is told at once, and what it may do is known.
import { useState } from 'preact/hooks'
import { Api, ApiError, describeError } from '../api.ts'
import type { Whoami } from '../types.ts'
import { Notice } from './Notice.tsx'

export function SignIn ({ message, onSignedIn }: { message: string | undefined, onSignedIn: (key: string, who: Whoami) => void }) {
  const [key, setKey] = useState('')
  const [busy, setBusy] = useState(false)
  const [error, setError] = useState<string>()

  const submit = async (event: Event): Promise<void> => {
    event.preventDefault()
    const trimmed = key.trim()
    if (trimmed === '') {
      setError('Paste an API key to sign in.')
      return
    }
    setBusy(true)
    setError(undefined)
    try {
      const who = await new Api(trimmed, { onUnauthorized: () => {} }).get<Whoami>('/api/v1/whoami')
      onSignedIn(trimmed, who)
    } catch (failure) {
      setError(failure instanceof ApiError && failure.status === 401
        ? `This key was not accepted: ${failure.message}`
        : describeError(failure))
      setBusy(false)
    }
  }

  return (
    <main class='signin'>
      <h1 class='brand'>central-logger <span class='muted'>log explorer</span></h1>
      <form class='card' onSubmit={(event) => { void submit(event) }}>
        <h2>Sign in</h2>
        <p class='muted'>
          With an API key of your client. It is kept in this tab only, until you sign out or close it.
        </p>
        {message !== undefined && <Notice kind='warning'>{message}</Notice>}
        {error !== undefined && <Notice kind='error'>{error}</Notice>}
        <label for='api-key'>API key</label>
        <input
          id='api-key'
          type='password'
          autocomplete='off'
          spellcheck={false}
          required
          placeholder='clk_…'
          value={key}
          onInput={(event) => { setKey(event.currentTarget.value) }}
        />
        <button type='submit' disabled={busy}>{busy ? 'Checking…' : 'Sign in'}</button>
      </form>
    </main>
  )
}

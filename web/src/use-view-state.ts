// The view state, read from and written to the URL's fragment: a change the
// user would step back through (a filter, an opened entry) is a history
// entry; one made while typing or dragging replaces the current one.
import { useCallback, useEffect, useState } from 'preact/hooks'
import { formatState, parseState, type ViewState } from './view-state.ts'

export type UpdateState = (change: Partial<ViewState>, options?: { replace?: boolean }) => void

export function useViewState (): [ViewState, UpdateState] {
  const [state, setState] = useState(() => parseState(location.hash))
  useEffect(() => {
    const read = (): void => { setState(parseState(location.hash)) }
    addEventListener('hashchange', read)
    addEventListener('popstate', read)
    return () => {
      removeEventListener('hashchange', read)
      removeEventListener('popstate', read)
    }
  }, [])
  const update = useCallback<UpdateState>((change, options = {}) => {
    const next = { ...parseState(location.hash), ...change }
    const url = `${location.pathname}${formatState(next)}`
    if (options.replace === true) history.replaceState(null, '', url)
    else history.pushState(null, '', url)
    setState(parseState(formatState(next)))
  }, [])
  return [state, update]
}

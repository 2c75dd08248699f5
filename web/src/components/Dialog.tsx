// A modal confirmation on the native <dialog>: it keeps focus inside, and
// Escape cancels it.
import type { ComponentChildren } from 'preact'
import { useEffect, useRef } from 'preact/hooks'

interface Props {
  title: string
  confirm: string
  danger?: boolean
  busy?: boolean
  onConfirm: () => void
  onCancel: () => void
  children: ComponentChildren
}

export function Dialog ({ title, confirm, danger = false, busy = false, onConfirm, onCancel, children }: Props) {
  const dialog = useRef<HTMLDialogElement>(null)
  useEffect(() => {
    const element = dialog.current
    if (element !== null && !element.open) element.showModal()
    return () => { element?.close() }
  }, [])
  return (
    <dialog ref={dialog} aria-labelledby='dialog-title' onCancel={(event) => { event.preventDefault(); onCancel() }}>
      <form method='dialog' onSubmit={(event) => { event.preventDefault(); onConfirm() }}>
        <h2 id='dialog-title'>{title}</h2>
        {children}
        <div class='actions'>
          <button type='button' class='secondary' onClick={onCancel}>Cancel</button>
          <button type='submit' class={danger ? 'danger' : ''} disabled={busy}>{confirm}</button>
        </div>
      </form>
    </dialog>
  )
}

// A message in a coloured box: errors are announced at once (role alert).
import type { ComponentChildren } from 'preact'

export function Notice ({ kind, children }: { kind: 'error' | 'warning' | 'info', children: ComponentChildren }) {
  return <div class={`notice notice-${kind}`} role={kind === 'error' ? 'alert' : 'status'}>{children}</div>
}

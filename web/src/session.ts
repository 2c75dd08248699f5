// The signed-in key lives in this tab's sessionStorage only: gone when the tab
// closes, never in localStorage, a cookie or a URL.
const KEY_ITEM = 'central-logger.api-key'

export function storedKey (): string | undefined {
  return sessionStorage.getItem(KEY_ITEM) ?? undefined
}

export function storeKey (key: string): void {
  sessionStorage.setItem(KEY_ITEM, key)
}

export function forgetKey (): void {
  sessionStorage.removeItem(KEY_ITEM)
}

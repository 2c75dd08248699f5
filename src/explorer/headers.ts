// The headers of the explorer page and its files. The page holds a tenant's
// key in its tab, so it runs only its own scripts (no inline script, no other
// origin: what an injected one could send the key to is this service alone),
// is never framed (clickjacking), and names no address of its own to others.
export const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self'",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'"
].join('; ')

export const PAGE_HEADERS: Readonly<Record<string, string>> = {
  'content-security-policy': CONTENT_SECURITY_POLICY,
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  // For browsers older than frame-ancestors.
  'x-frame-options': 'DENY',
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-resource-policy': 'same-origin'
}

/** Files named by their content's hash never change; the page and the others are checked each time (their ETag makes that cheap). */
export function cacheControl (immutable: boolean): string {
  return immutable ? 'public, max-age=31536000, immutable' : 'no-cache'
}

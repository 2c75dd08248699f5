// Node.js's HTTP server timeouts for REQUEST_TIMEOUT_MS. Node checks them
// every connectionsCheckingInterval (30 s by default), which would let a held
// upload outlive its timeout by up to that much: the check runs at a quarter
// of the timeout, and at least once a second.
export function requestTimeouts (requestTimeoutMs: number): { requestTimeout: number, headersTimeout: number, connectionsCheckingInterval: number } {
  return {
    requestTimeout: requestTimeoutMs,
    // The headers are part of the request: they get no longer than all of it.
    headersTimeout: requestTimeoutMs,
    connectionsCheckingInterval: Math.max(25, Math.min(1000, Math.floor(requestTimeoutMs / 4)))
  }
}

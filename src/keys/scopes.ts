// What a key may do. Every authenticated route names the one scope it needs.
export const SCOPES = ['logs:write', 'logs:read', 'keys:manage'] as const
export type Scope = typeof SCOPES[number]
export const DEFAULT_SCOPES: Scope[] = ['logs:write', 'logs:read']

export function isScope (value: string): value is Scope {
  return (SCOPES as readonly string[]).includes(value)
}

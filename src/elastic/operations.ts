// The operations of a bulk body: each action line, and for the actions that
// carry one, the line of its document after it. Only the action lines are
// parsed here; the documents are parsed later, one at a time, as they are
// checked. A body whose action lines cannot be read is refused whole, as
// Elasticsearch refuses it: its lines could no longer be paired.
import { Pacer } from '../body/pace.ts'
import type { ReceivedEntries } from '../body/read-entries.ts'
import { Errors } from '../errors.ts'
import { RefusedEntry, UnparsableLine } from '../logs/validate.ts'

/** The actions stored as logs. */
export const STORED_ACTIONS = ['index', 'create'] as const
export type StoredAction = typeof STORED_ACTIONS[number]

/** Elasticsearch's actions without a document line after them. */
const WITHOUT_DOCUMENT = new Set(['delete'])

/** An item's error, as Elasticsearch writes one. */
export interface ItemError {
  status: number
  type: string
  reason: string
}

export interface BulkOperation {
  /** The action as named on its line: the key of its item in the answer. */
  action: string
  /** `_index` of the action line, else the index of the path; undefined when neither names one. */
  index: string | undefined
  /** `_id` of the action line. */
  id: string | undefined
  /** The position of its document line among the body's lines, for an action that carries one. */
  documentAt: number | undefined
  /** Why the operation is refused before its document is read. */
  refusal: ItemError | undefined
}

function isStored (action: string): action is StoredAction {
  return (STORED_ACTIONS as readonly string[]).includes(action)
}

/** An action line's problem, as the 400 that refuses the body; `line` counts non-blank lines from 1. */
function malformed (line: number, problem: string): Error {
  return Errors.invalidRequest('body', `malformed action line ${line}: ${problem}. A bulk body is NDJSON: an action line ` +
    '({"create":{"_index":"…"}} or {"index":{…}}), then the document on the next line, for each document.')
}

function describe (value: unknown): string {
  if (value === null) return 'null'
  if (Array.isArray(value)) return 'an array'
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`
}

/**
 * The operations of the body's lines, in order. Throws 400 for an action line
 * that is not one object of one action, or an action that lacks its document
 * line, and 413 for more than `maxOperations` operations. Action lines may be
 * as long as any line: they are parsed in slices of time, as documents are.
 */
export async function operationsOf (lines: ReceivedEntries, pathIndex: string | undefined, maxOperations: number): Promise<BulkOperation[]> {
  const operations: BulkOperation[] = []
  const pacer = new Pacer()
  let at = 0
  while (at < lines.length) {
    if (pacer.due()) await pacer.yield()
    if (operations.length === maxOperations) throw Errors.tooManyEntries(maxOperations)
    const line = at + 1
    const value = lines.entry(at)
    if (value instanceof UnparsableLine) throw malformed(line, `it is not JSON (${value.reason})`)
    if (value instanceof RefusedEntry) throw malformed(line, value.message)
    if (typeof value !== 'object' || value === null || Array.isArray(value)) throw malformed(line, `it is ${describe(value)}, not an object`)
    const names = Object.keys(value)
    if (names.length !== 1) throw malformed(line, `it must name exactly one action, and names ${names.length}`)
    const action = names[0]!
    const metadata = (value as Record<string, unknown>)[action]
    if (typeof metadata !== 'object' || metadata === null || Array.isArray(metadata)) {
      throw malformed(line, `the ${action} action's metadata is ${describe(metadata)}, not an object`)
    }
    const operation = operationOf(action, metadata as Record<string, unknown>, pathIndex)
    at++
    if (!WITHOUT_DOCUMENT.has(action)) {
      if (at === lines.length) throw malformed(line, `the ${action} action has no document line after it`)
      operation.documentAt = at
      at++
    }
    operations.push(operation)
  }
  return operations
}

function operationOf (action: string, metadata: Record<string, unknown>, pathIndex: string | undefined): BulkOperation {
  const sentIndex = metadata._index
  const index = typeof sentIndex === 'string' && sentIndex !== '' ? sentIndex : pathIndex
  const sentId = metadata._id
  const id = typeof sentId === 'string' ? sentId : typeof sentId === 'number' && Number.isFinite(sentId) ? String(sentId) : undefined
  const operation: BulkOperation = { action, index, id, documentAt: undefined, refusal: undefined }
  if (!isStored(action)) {
    operation.refusal = {
      status: 400,
      type: 'illegal_argument_exception',
      reason: `the ${action} action is not supported: this service stores logs, which are never changed or deleted; send index or create`
    }
  } else if (sentIndex !== undefined && typeof sentIndex !== 'string') {
    operation.refusal = { status: 400, type: 'illegal_argument_exception', reason: `_index must be a string, not ${describe(sentIndex)}` }
  } else if (index === undefined) {
    operation.refusal = { status: 400, type: 'action_request_validation_exception', reason: 'Validation Failed: 1: index is missing;' }
  } else if (sentId !== undefined && sentId !== null && id === undefined) {
    operation.refusal = { status: 400, type: 'illegal_argument_exception', reason: `_id must be a string, not ${describe(sentId)}` }
  }
  return operation
}

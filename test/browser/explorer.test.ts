// The explorer page in a real browser: Debian's headless Chromium, driven by
// playwright-core, against the service on a real socket. Signs in, reads,
// searches, filters, drags across the histogram, opens an entry, follows Live,
// manages keys; and checks throughout that the key is in no URL, cookie or
// localStorage, that no request leaves the origin and that nothing is
// reported on the console. Takes the README's screenshot (written to
// docs/explorer.png with UPDATE_SCREENSHOT=1).
import { mkdir } from 'node:fs/promises'
import path from 'node:path'
import t from 'tap'
import { chromium, type Browser, type BrowserContext, type ConsoleMessage, type Page } from 'playwright-core'
import { CHROMIUM_ARGS, findChromium } from './chromium.ts'
import { explorerWorld, type ExplorerWorld } from './explorer-world.ts'

const { executablePath, skip } = findChromium()
if (skip !== false) t.comment(skip)

const ROOT = path.resolve(import.meta.dirname, '..', '..')
const FIRST_LOAD_BUDGET = 150 * 1024

// Scripts run in the page (as text: this file is compiled without the DOM's types).
/** Every long task (50 ms or more) from the page's start, in window.longTasks. */
const LONG_TASKS = `
  window.longTasks = []
  new PerformanceObserver((list) => { for (const entry of list.getEntries()) window.longTasks.push(entry.duration) })
    .observe({ type: 'longtask', buffered: true })`
/** How many pixels of the histogram's canvas are coloured: bars are saturated, axes and text grey. */
const COLOURED_PIXELS = `(() => {
  const canvas = document.querySelector('canvas[aria-label="Log volume"]')
  const { data } = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height)
  let coloured = 0
  for (let at = 0; at < data.length; at += 4) {
    if (Math.max(data[at], data[at + 1], data[at + 2]) - Math.min(data[at], data[at + 1], data[at + 2]) > 60) coloured++
  }
  return coloured
})()`

interface Watch {
  /** Every URL the page asked for or navigated to. */
  urls: string[]
  consoleErrors: string[]
  /** Console errors the test provokes on purpose (a refused key, another client's log): URLs they may name. */
  expectedFailures: string[]
}

function watch (page: Page, seen: Watch): void {
  page.on('request', (request) => { seen.urls.push(request.url()) })
  page.on('framenavigated', (frame) => { seen.urls.push(frame.url()) })
  page.on('console', (message: ConsoleMessage) => {
    if (message.type() !== 'error') return
    const where = message.location().url
    if (seen.expectedFailures.some((url) => where.includes(url)) && message.text().startsWith('Failed to load resource')) return
    seen.consoleErrors.push(`${message.text()} (${where})`)
  })
  page.on('pageerror', (error) => { seen.consoleErrors.push(`uncaught: ${error.message}`) })
}

async function signIn (page: Page, apiKey: string): Promise<void> {
  await page.getByLabel('API key').fill(apiKey)
  await page.getByRole('button', { name: 'Sign in' }).click()
}

async function signOut (page: Page): Promise<void> {
  await page.getByRole('button', { name: 'Sign out' }).click()
  await page.getByLabel('API key').waitFor()
}

/** The rows drawn: those in view and some either side (the table draws no more). */
/**
 * Waits until an expression is true in the page. Not page.waitForFunction: it
 * evaluates a text predicate with eval, which the page's CSP refuses, as it
 * should.
 */
async function until (page: Page, expression: string, timeoutMs = 10_000): Promise<void> {
  const started = Date.now()
  while (!await page.evaluate<boolean>(expression)) {
    if (Date.now() - started > timeoutMs) throw new Error(`still false after ${timeoutMs} ms: ${expression}`)
    await page.waitForTimeout(50)
  }
}

const rows = (page: Page) => page.locator('table.logs tbody tr.entry')
/** Every row the table holds, drawn or not. */
const rowCount = async (page: Page): Promise<number> => Number(await page.locator('table.logs').getAttribute('aria-rowcount')) - 1
const fragment = (page: Page): URLSearchParams => new URLSearchParams(new URL(page.url()).hash.slice(1))

async function post (world: ExplorerWorld, entry: Record<string, unknown>): Promise<void> {
  const response = await fetch(`${world.base}/api/v1/logs`, {
    method: 'POST',
    headers: { 'x-api-key': world.admin.apiKey, 'content-type': 'application/json' },
    body: JSON.stringify({ environment: 'production', status: 'SUCCESS', executed_at: new Date().toISOString(), ...entry })
  })
  if (response.status !== 201) throw new Error(`POST answered ${response.status}: ${await response.text()}`)
}

void t.test('the explorer in Chromium', { skip }, async (t) => {
  const world = await explorerWorld(t)
  const browser: Browser = await chromium.launch({ executablePath, headless: true, args: CHROMIUM_ARGS })
  t.teardown(async () => { await browser.close() })
  const context: BrowserContext = await browser.newContext({ viewport: { width: 1280, height: 860 }, colorScheme: 'light' })
  await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: world.base })
  // Long tasks from the start, to judge the rendering of long tables.
  await context.addInitScript(LONG_TASKS)
  const seen: Watch = { urls: [], consoleErrors: [], expectedFailures: [] }
  const page = await context.newPage()
  watch(page, seen)

  await t.test('the first load is under 150 KB compressed, with the security headers', async (t) => {
    let transferred = 0
    const sizes: Array<Promise<number>> = []
    const onResponse = (response: { request: () => { sizes: () => Promise<{ responseBodySize: number, responseHeadersSize: number }> } }): void => {
      sizes.push(response.request().sizes().then((size) => size.responseBodySize + size.responseHeadersSize))
    }
    page.on('response', onResponse)
    const document = await page.goto(world.base, { waitUntil: 'networkidle' })
    page.off('response', onResponse)
    for (const size of await Promise.all(sizes)) transferred += size
    t.comment(`first load: ${sizes.length} responses, ${(transferred / 1024).toFixed(1)} KB transferred`)
    t.ok(transferred > 0 && transferred < FIRST_LOAD_BUDGET, `${transferred} bytes, under ${FIRST_LOAD_BUDGET}`)
    const headers = document?.headers() ?? {}
    t.match(headers['content-security-policy'], /default-src 'self'/)
    t.match(headers['content-security-policy'], /frame-ancestors 'none'/)
    t.equal(headers['x-content-type-options'], 'nosniff')
    t.equal(headers['referrer-policy'], 'no-referrer')
    await page.getByLabel('API key').waitFor()
    t.equal(await page.getByLabel('API key').getAttribute('type'), 'password', 'the key field hides what is typed')
  })

  await t.test('a key that is not accepted is told so', async (t) => {
    seen.expectedFailures.push('/api/v1/whoami')
    await signIn(page, 'clk_not-a-real-key')
    await page.getByText('This key was not accepted').waitFor()
    t.pass('refused in words')
    await page.getByLabel('API key').fill('')
  })

  await t.test('signing in shows the seeded logs', async (t) => {
    await signIn(page, world.admin.apiKey)
    await page.getByRole('cell', { name: 'disk full on /var/lib/etl' }).waitFor()
    await page.getByRole('cell', { name: 'loaded 1200 rows into the warehouse' }).waitFor()
    t.ok(await rows(page).count() >= 4, 'the newest logs are listed')
    t.notOk(await page.getByText('weekly report mailed').isVisible(), 'a log older than the 24 hours shown is not')
  })

  await t.test('the "Log volume" histogram renders the counts', async (t) => {
    const chart = page.getByRole('img', { name: 'Log volume', exact: true })
    await chart.waitFor()
    t.equal(await chart.evaluate((element) => element.tagName), 'CANVAS')
    const painted = await page.evaluate<number>(COLOURED_PIXELS)
    t.ok(painted > 200, `bars are drawn (${painted} coloured pixels)`)
    await page.getByText(`${world.lastDay.toLocaleString('en-US')} logs, per hour`).waitFor()
    t.pass('the total of the last 24 hours is shown')
  })

  await t.test('scrolling loads every page of the cursor, and a thousand rows render without jank', async (t) => {
    // Found by CSS: Playwright's role queries run in the page, and over a thousand rows they are long tasks of their own.
    const table = page.locator('.table-scroll')
    await page.evaluate('window.longTasks.length = 0')
    const started = Date.now()
    while (await rowCount(page) < world.lastDay && Date.now() - started < 20_000) {
      await table.evaluate((element) => { element.scrollTop = element.scrollHeight })
      await page.waitForTimeout(100)
    }
    t.equal(await rowCount(page), world.lastDay, 'every log of the range, a page at a time')
    t.ok(await rows(page).count() < 200, `of which only those in view and near it are drawn (${await rows(page).count()})`)
    await page.getByText(`All ${world.lastDay.toLocaleString('en-US')} logs shown.`).waitFor()
    const longest = await page.evaluate<number>('Math.max(0, ...window.longTasks)')
    t.comment(`long tasks: ${await page.evaluate<string>('window.longTasks.map(Math.round).join(", ")')}`)
    t.comment(`the longest task while scrolling through ${world.lastDay} rows: ${longest.toFixed(0)} ms`)
    t.ok(longest < 100, `no task of 100 ms or more (the longest: ${longest.toFixed(0)} ms)`)
    await table.evaluate((element) => { element.scrollTop = 0 })
  })

  await t.test('the search box narrows the table, and lands in the URL', async (t) => {
    const search = page.getByRole('searchbox', { name: 'Search' })
    await search.fill('DISK')
    await search.press('Enter')
    await until(page, 'document.querySelectorAll("table.logs tbody tr.entry").length === 1')
    t.match(await rows(page).first().textContent(), /disk full on \/var\/lib\/etl/)
    t.equal(fragment(page).get('q'), 'DISK')
    await search.fill('')
    await search.press('Enter')
    await page.getByRole('cell', { name: 'loaded 1200 rows into the warehouse' }).waitFor()
  })

  await t.test('a filter and a time range change the table and the URL', async (t) => {
    await page.getByLabel('Level').selectOption('error')
    await until(page, '[...document.querySelectorAll("table.logs tr.entry td:nth-child(2)")].every((cell) => cell.textContent === "error")')
    await page.getByRole('cell', { name: 'connection refused by the billing API' }).waitFor()
    t.equal(await rowCount(page), 1 + Math.ceil(1000 / 7) + 1, 'only the errors of the last 24 hours')
    t.equal(fragment(page).get('level'), 'error')

    await page.getByRole('button', { name: '15 min' }).click()
    await page.getByRole('cell', { name: 'connection refused by the billing API' }).waitFor({ state: 'detached' })
    t.same(await page.locator('table.logs tbody td.message').allTextContents(), ['disk full on /var/lib/etl'], 'the last 15 minutes\' errors')
    t.equal(fragment(page).get('range'), '15m')

    await page.getByLabel('Status', { exact: true }).fill('success')
    await page.getByLabel('Status', { exact: true }).press('Enter')
    await page.getByText('No logs match these filters in this time range.').waitFor()
    t.equal(fragment(page).get('status'), 'SUCCESS', 'statuses are upper-cased, as stored')

    // Back: the browser's history holds each step.
    await page.goBack()
    await page.getByRole('cell', { name: 'disk full on /var/lib/etl' }).waitFor()
    t.equal(fragment(page).get('status'), null, 'Back undoes the last filter')
    await page.goto(`${world.base}/`)
    await page.getByRole('cell', { name: 'batch step 0 done' }).waitFor()
  })

  await t.test('dragging across the histogram selects that time range', async (t) => {
    const chart = page.locator('.volume .u-over')
    const box = await chart.boundingBox()
    if (box === null) throw new Error('the histogram has no box')
    await page.mouse.move(box.x + box.width * 0.2, box.y + box.height / 2)
    await page.mouse.down()
    await page.mouse.move(box.x + box.width * 0.5, box.y + box.height / 2, { steps: 8 })
    await page.mouse.up()
    await until(page, 'location.hash.includes("range=custom")')
    const from = Date.parse(fragment(page).get('from') ?? '')
    const to = Date.parse(fragment(page).get('to') ?? '')
    const hours = (to - from) / 3_600_000
    t.ok(hours > 5 && hours < 9, `about 30% of the 24 hours (${hours.toFixed(1)} h)`)
    // The fragment changes before the new page is asked for, so "not loading"
    // can still be the old table: wait (boundedly) for the rows of the range,
    // then check them; a table that never holds them fails the check below.
    const rowsInRange = `(() => {
      const times = [...document.querySelectorAll('table.logs tbody td.time a')].map((link) => Date.parse(link.getAttribute('title') ?? ''))
      return times.length > 0 && times.every((time) => time >= ${from} && time < ${to})
    })()`
    await until(page, rowsInRange).catch(() => {})
    await until(page, 'document.querySelector(".table-end")?.textContent !== "Loading…"')
    const times = await page.locator('table.logs tbody td.time a').evaluateAll((links) => links.map((link) => Date.parse(link.getAttribute('title') ?? '')))
    t.ok(times.length > 0 && times.every((time) => time >= from && time < to), `the table holds that range only (${times.length} rows)`)
    await page.goto(`${world.base}/`)
    await page.getByRole('cell', { name: 'loaded 1200 rows into the warehouse' }).waitFor()
  })

  const openedId = world.ids.get('loaded 1200 rows into the warehouse')!
  await t.test('an entry opens with every field and its attributes, and its link reopens it', async (t) => {
    await page.getByRole('cell', { name: 'loaded 1200 rows into the warehouse' }).click()
    const detail = page.getByRole('complementary', { name: 'Log entry' })
    await detail.waitFor()
    const attributes = await detail.getByLabel('Attributes as JSON').textContent()
    t.same(JSON.parse(attributes ?? ''), { rows_loaded: 1200, source: 's3://exports/2026-11-26.csv' })
    t.match(attributes, /\n {2}"rows_loaded": 1200/, 'formatted')
    t.match(await detail.textContent(), /nightly-etl/)
    t.equal(fragment(page).get('log'), openedId)

    await detail.getByRole('button', { name: 'Copy link' }).click()
    await detail.getByText('Link copied').waitFor()
    const link = await page.evaluate<string>('navigator.clipboard.readText()')
    t.equal(new URL(link).hash, `#log=${openedId}`)

    // A colleague's tab: the link asks for a key of their own, then opens the entry.
    const colleague = await context.newPage()
    watch(colleague, seen)
    await colleague.goto(link)
    await signIn(colleague, world.admin.apiKey)
    const reopened = colleague.getByRole('complementary', { name: 'Log entry' })
    await reopened.getByLabel('Attributes as JSON').waitFor()
    t.match(await reopened.textContent(), /s3:\/\/exports\/2026-11-26\.csv/, 'the entry, from its link')
    await colleague.close()

    // And after a reload of this tab, still signed in.
    await page.reload()
    await page.getByRole('complementary', { name: 'Log entry' }).getByLabel('Attributes as JSON').waitFor()
    t.pass('a reload keeps the key of this tab and the view of the URL')

    if (process.env.UPDATE_SCREENSHOT === '1') {
      await mkdir(path.join(ROOT, 'docs'), { recursive: true })
      await page.screenshot({ path: path.join(ROOT, 'docs', 'explorer.png') })
      t.comment('the screenshot is written to docs/explorer.png')
    } else {
      await page.screenshot({ path: path.join(ROOT, '.tap', 'explorer.png') })
    }
    await page.getByRole('button', { name: 'Close' }).click()
    await page.getByRole('complementary', { name: 'Log entry' }).waitFor({ state: 'detached' })
  })

  await t.test('Live puts a log posted meanwhile at the top within 2 s, and holds logs back while scrolled away', async (t) => {
    await page.getByRole('switch', { name: 'Live' }).check()
    await page.getByText('Live: new logs appear at the top.').waitFor()
    t.equal(fragment(page).get('live'), '1')
    const posted = Date.now()
    await post(world, { message: 'live entry one', workflow_id: 'live-check' })
    await rows(page).first().getByText('live entry one').waitFor({ timeout: 2000 })
    const delay = Date.now() - posted
    t.comment(`a posted log was on the page ${delay} ms later`)
    t.ok(delay < 2000, `within 2 s (${delay} ms)`)

    const table = page.getByRole('region', { name: 'Log entries' })
    await table.evaluate((element) => { element.scrollTop = 600 })
    await page.waitForTimeout(200)
    await post(world, { message: 'live entry two', workflow_id: 'live-check' })
    await page.getByRole('button', { name: /1 new log/ }).waitFor()
    t.equal(await page.getByRole('cell', { name: 'live entry two' }).count(), 0, 'held back while the user reads further down')
    await page.getByRole('button', { name: /1 new log/ }).click()
    await rows(page).first().getByText('live entry two').waitFor()
    t.pass('shown once back at the top')
    await page.getByRole('switch', { name: 'Live' }).uncheck()
  })

  await t.test('keys: listed with their state, created (shown once), revoked after a confirmation; usage per day', async (t) => {
    await page.getByRole('link', { name: 'Keys' }).click()
    await page.getByRole('heading', { name: 'Keys of acme' }).waitFor()
    await page.getByRole('cell', { name: 'shipper', exact: true }).waitFor()
    t.equal(fragment(page).get('view'), 'keys')
    await page.getByRole('img', { name: 'Usage per day' }).waitFor()

    await page.getByLabel('Name').fill('made in the browser')
    await page.getByRole('button', { name: 'Create key' }).click()
    const shownKey = await page.getByLabel('The new API key').inputValue()
    t.match(shownKey, /^clk_/, 'the key, shown once')
    await page.getByRole('button', { name: 'Done' }).click()
    t.equal(await page.getByLabel('The new API key').count(), 0, 'and gone once done')

    await page.getByRole('button', { name: /^Revoke made in the browser/ }).click()
    const dialog = page.getByRole('dialog', { name: /Revoke made in the browser/ })
    await dialog.getByRole('button', { name: 'Revoke' }).click()
    await page.getByText(/made in the browser .* is revoked\./).waitFor()
    const row = page.getByRole('row', { name: /made in the browser/ })
    // The notice can come before the list is read again: the row is judged once it shows the new state.
    await row.getByText('revoked', { exact: true }).waitFor()
    t.match(await row.textContent(), /revoked/)
    const refused = await fetch(`${world.base}/api/v1/logs`, { headers: { 'x-api-key': shownKey } })
    t.equal(refused.status, 401, 'the revoked key is refused')
    await page.getByRole('link', { name: 'Explore' }).click()
  })

  await t.test('a logs:write key is told it cannot read', async (t) => {
    await signOut(page)
    await signIn(page, world.writer.apiKey)
    await page.getByText('This key cannot read logs').waitFor()
    t.equal(await page.getByRole('table').count(), 0, 'no table of logs')
    t.equal(await page.getByRole('link', { name: 'Keys' }).count(), 0, 'no keys view')
  })

  await t.test('another tenant\'s key sees none of the first tenant\'s logs', async (t) => {
    await signOut(page)
    await signIn(page, world.other.apiKey)
    await page.getByRole('cell', { name: 'globex private entry 1' }).waitFor()
    const messages = await page.locator('table.logs tbody td.message').allTextContents()
    t.same(messages.sort(), ['globex private entry 1', 'globex private entry 2', 'globex private entry 3'], 'its own logs only')
    t.notOk(await page.getByText('disk full').count(), 'no log of the first tenant')

    // A link to the first tenant's entry finds nothing, as if it did not exist.
    const theirs = world.ids.get('disk full on /var/lib/etl')!
    seen.expectedFailures.push(`/api/v1/logs/${theirs}`)
    await page.goto(`${world.base}/#log=${theirs}`)
    await page.getByText('No log with this id among this client\'s logs').waitFor()
    t.notOk(await page.getByText('/var/lib/etl').count(), 'nothing of it shown')
  })

  await t.test('the key is in no URL, cookie or localStorage, and Sign out forgets it', async (t) => {
    const keys = [world.admin.apiKey, world.writer.apiKey, world.other.apiKey]
    const leaks = seen.urls.filter((url) => keys.some((key) => url.includes(key)) || url.includes('clk_'))
    t.same(leaks, [], `no key in any of ${seen.urls.length} URLs`)
    t.same(await context.cookies(), [], 'no cookie at all')
    t.equal(await page.evaluate<number>('localStorage.length'), 0, 'nothing in localStorage')
    t.equal(await page.evaluate<string>('Object.values(sessionStorage).join(" ")'), world.other.apiKey, 'the key is in this tab\'s sessionStorage')
    await signOut(page)
    t.equal(await page.evaluate<number>('sessionStorage.length'), 0, 'and gone after Sign out')
  })

  await t.test('no request leaves the origin, and nothing is reported on the console', async (t) => {
    const foreign = seen.urls.filter((url) => new URL(url).origin !== world.base && url !== 'about:blank')
    t.same(foreign, [], `every one of ${seen.urls.length} requests and navigations is to ${world.base}`)
    t.same(seen.consoleErrors, [], 'no console error, CSP violation or uncaught exception')
  })
})

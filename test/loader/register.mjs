// `node --import ./test/loader/register.mjs`: runs this project's TypeScript
// directly, for the test suite and the processes its tests start.
//
// tap's own TypeScript loader (ts-node) spends about three seconds compiling
// the service in every test process; tsx is fast, but it joins each module
// onto a single line, which makes line coverage meaningless. esbuild, which
// tsx itself uses, keeps the lines and gives an exact source map.
import { register } from 'node:module'

register('./typescript-hooks.mjs', import.meta.url)

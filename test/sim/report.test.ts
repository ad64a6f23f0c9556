/**
 * The simulation report (sim/report.ts) rendered from a small recorded
 * result: one self-contained page (nothing to fetch, no script), every
 * chart present, a failed invariant marked plainly, hostile strings from a
 * result file escaped, and every SVG well formed.
 */
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { readFileSync } from 'node:fs'
import { renderChartSvg, renderReport } from '../../sim/report.ts'
import { replayCommand, shellWord } from '../../sim/report-replay.ts'
import type { SimResult } from '../../sim/types.ts'

const FIXTURE = JSON.parse(readFileSync(new URL('./fixtures/churn-result.json', import.meta.url), 'utf8')) as SimResult
const fixture = (): SimResult => structuredClone(FIXTURE)

const TITLES = [
  'Verify success rate per hour', 'Verify latency per hour', 'Live correct shares per template', 'Unrecoverable templates',
  'Faults injected', 'Exposure per site and per coalition'
]

/** HTML elements that never close. */
const VOID = new Set(['meta', 'br', 'hr', 'img', 'input', 'link', 'area', 'base', 'col', 'embed', 'source', 'track', 'wbr'])

/**
 * Throws (a plain Error, so assert.throws can test the checker) unless every
 * tag in `text` is closed in order (self-closing `<x/>` and HTML void elements aside).
 */
function assertBalanced (text: string, html = false): void {
  const stack: string[] = []
  for (const m of text.matchAll(/<(\/?)([A-Za-z][\w-]*)((?:"[^"]*"|'[^']*'|[^>"'])*?)(\/?)>/g)) {
    const [, closing, name, , selfClosing] = m
    if (selfClosing === '/' || (html && VOID.has(name.toLowerCase()))) continue
    if (closing === '') stack.push(name)
    else {
      const open = stack.pop()
      if (open !== name) throw new Error(`</${name}> closes <${open ?? 'nothing'}> at ${m.index ?? 0}`)
    }
  }
  if (stack.length > 0) throw new Error(`unclosed: <${stack.join('>, <')}>`)
  const stray = text.replace(/<!doctype html>/i, '').replace(/<\/?[A-Za-z][\w-]*(?:"[^"]*"|'[^']*'|[^>"'])*>/g, '')
  if (/[<>]/.test(stray)) throw new Error('a < or > outside a tag (unescaped text)')
}

const balance = suite('sim report: the well-formedness check')

balance('the checker refuses an unclosed tag, a mismatched one and a stray <', () => {
  for (const bad of ['<svg><g></svg>', '<svg><g>', '<svg>a < b</svg>', '<svg></g></svg>']) {
    assert.throws(() => { assertBalanced(bad) }, undefined, bad)
  }
  assertBalanced('<svg><g a="x>y"/><text>1 &lt; 2</text></svg>')
})

const svgs = (html: string): string[] => [...html.matchAll(/<svg[\s>][\s\S]*?<\/svg>/g)].map((m) => m[0])

const page = suite('sim report: renderReport')

page('is self-contained: no URL, no script, no stylesheet or font to fetch', () => {
  const html = renderReport(fixture())
  assert.ok(html.startsWith('<!doctype html>'))
  assert.not.match(html, /https?:\/\//i)
  assert.not.match(html, /<script/i)
  assert.not.match(html, /<link|@import|url\(|@font-face/i)
})

page('holds each chart, as inline SVG, and the counts and invariants tables', () => {
  const html = renderReport(fixture())
  const all = svgs(html)
  assert.is(all.length, TITLES.length)
  for (const t of TITLES) assert.ok(all.some((s) => s.includes(`aria-label="${t}`)), `chart ${t}`)
  assert.match(html, /<h2>Invariants<\/h2>/)
  assert.match(html, /<h2>Counts<\/h2>/)
  for (const i of FIXTURE.invariants) assert.ok(html.includes(i.name.replace(/</g, '&lt;').replace(/>/g, '&gt;')), i.name)
  assert.match(html, /Every invariant holds \(4\)/)
  assert.not.match(html, /FAILS/)
})

page('the header says how to replay the run, with its seed', () => {
  const html = renderReport(fixture())
  const flags = '--nodes 12 --sites 4 --templates 24 --t 3 --n 5 --hours 12 --probes 10 --transport tcp --seed 2718281828'
  assert.ok(html.includes(`bioshard sim --scenario churn ${flags}`))
  assert.match(html, /seed 2718281828/)
})

page('marks a failed invariant plainly, in the verdict and its row', () => {
  const r = fixture()
  r.invariants[1] = { ...r.invariants[1], holds: false, detail: 'site-1 held 3 shares of template 7' }
  const html = renderReport(r)
  assert.match(html, /1 of 4 invariants FAIL: no site holds t shares of one template/)
  assert.match(html, /<td class="fail">FAILS<\/td><th>no site holds t shares of one template<\/th><td class="detail">site-1 held 3 shares/)
  assert.is(html.match(/class="fail">FAILS/g)?.length, 1)
})

page('escapes hostile strings from a result file everywhere they are drawn', () => {
  const evil = '<script>alert(1)</script>"\'&'
  const r = fixture()
  r.scenario = evil
  r.params.transport = evil as SimResult['params']['transport']
  r.params.coalitions = [[evil, 'site-2']]
  r.exposure.perSite[0].site = evil
  r.exposure.coalitions[0].sites = [evil]
  r.invariants[0] = { name: evil, holds: false, detail: evil }
  r.faults.push({ at: 3, kind: evil, node: evil } as unknown as SimResult['faults'][number])
  r.params.seed = evil as unknown as number
  r.steps[0].verify.accepted = evil as unknown as number
  const html = renderReport(r)
  assert.not.ok(html.includes('<script>'))
  assert.not.ok(html.includes('"\'&<'))
  assert.ok(html.includes('&lt;script&gt;alert(1)&lt;/script&gt;&quot;&#39;&amp;'))
  assertBalanced(html, true)
  const svg = renderChartSvg(r, 'overview')
  assert.not.ok(svg.includes('<script>'))
  assertBalanced(svg)
})

page('the page and every SVG in it are well formed', () => {
  const html = renderReport(fixture())
  assertBalanced(html, true)
  for (const s of svgs(html)) assertBalanced(s)
})

page('renders a run with no steps and no faults', () => {
  const r = fixture()
  r.steps = []
  r.faults = []
  r.exposure = { maxPerNode: 0, maxPerSite: 0, perSite: [], coalitions: [] }
  const html = renderReport(r)
  assert.is(svgs(html).length, TITLES.length)
  assert.match(html, /Faults injected: none/)
  assertBalanced(html, true)
})

const chart = suite('sim report: renderChartSvg')

chart('overview is one standalone SVG with the success rate, live shares and faults on one axis', () => {
  const svg = renderChartSvg(fixture(), 'overview')
  assert.ok(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg" '))
  assert.ok(svg.endsWith('</svg>'))
  assert.is(svg.match(/<svg/g)?.length, 1)
  for (const t of ['Verify success rate per hour', 'Live correct shares per template', 'Faults injected']) assert.ok(svg.includes(t), t)
  assert.match(svg, /<style>[\s\S]*prefers-color-scheme: dark/)
  assertBalanced(svg)
  // The three panels' hour axes end at the same x: the same axis, stacked.
  const ends = [...svg.matchAll(/<text class="lbl" x="([\d.]+)" y="[\d.]+" text-anchor="middle">12 h<\/text>/g)].map((m) => m[1])
  assert.is(ends.length, 3)
  assert.is(new Set(ends).size, 1)
})

chart('every named chart renders alone and well formed', () => {
  for (const name of ['verify', 'latency', 'live-shares', 'unrecoverable', 'faults', 'exposure'] as const) {
    const svg = renderChartSvg(fixture(), name)
    assert.ok(svg.startsWith('<svg xmlns='), name)
    assertBalanced(svg)
  }
})

chart('draws the threshold t on the live-shares and exposure charts', () => {
  assert.match(renderChartSvg(fixture(), 'live-shares'), /threshold t = 3/)
  assert.match(renderChartSvg(fixture(), 'exposure'), /<line class="s-t"[^>]*>.*t = 3/)
})

const replay = suite('sim report: replay command')

replay('quotes what a shell would read otherwise', () => {
  assert.is(shellWord('churn'), 'churn')
  assert.is(shellWord('my scenario.json'), "'my scenario.json'")
  assert.is(shellWord("it's"), "'it'\\''s'")
  assert.is(shellWord('$(rm -rf ~)'), "'$(rm -rf ~)'")
  const line = replayCommand(fixture(), { scenario: './my file.json', out: 'out dir' })
  assert.ok(line.startsWith("bioshard sim --scenario './my file.json' --nodes 12"))
  assert.ok(line.endsWith("--seed 2718281828 --out 'out dir'"))
})

balance.run()
page.run()
chart.run()
replay.run()

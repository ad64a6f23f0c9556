/**
 * A simulation run as one self-contained HTML page: inline CSS and inline
 * SVG, no scripts, no fonts, no links to fetch, so the file can be mailed or
 * archived with the result it came from and still open. The header says how
 * to replay the run; the tables give the deterministic counts and each
 * invariant, holds or FAILS; the charts share one simulated-time axis so a
 * fault lines up with its effect. Every string from the result is escaped:
 * a result file is input, and a scenario file names things.
 *
 * @module
 */
import type { InvariantCheck, SimResult } from './types.ts'
import { FRAME, SVG_STYLE, esc, num, svgElement, timeAxis, type Panel } from './report-svg.ts'
import { faultsPanel, latencyPanel, liveSharesPanel, unrecoverablePanel, verifyRatePanel } from './report-time.ts'
import { EXPOSURE_WIDTH, exposurePanel } from './report-exposure.ts'
import { replayCommand } from './report-replay.ts'

/** Charts `renderChartSvg` can draw on their own. */
export type ChartName = 'overview' | 'verify' | 'latency' | 'live-shares' | 'unrecoverable' | 'faults' | 'exposure'

/** The time panels of a result, in page order. */
function timePanels (r: SimResult): Record<Exclude<ChartName, 'overview' | 'exposure'>, Panel> {
  const axis = timeAxis(Math.max(Number(r.params.hours), r.steps.length))
  return {
    verify: verifyRatePanel(r, axis),
    latency: latencyPanel(r, axis),
    'live-shares': liveSharesPanel(r, axis),
    unrecoverable: unrecoverablePanel(r, axis),
    faults: faultsPanel(r, axis)
  }
}

/** Panels stacked into one SVG body (each moved down below the one before); returns the body and total height. */
function stack (panels: readonly Panel[]): { body: string, height: number } {
  let y = 0
  const parts = panels.map((p) => {
    const g = `<g transform="translate(0 ${y})">${p.body}</g>`
    y += p.height
    return g
  })
  return { body: parts.join(''), height: y }
}

/**
 * One chart as a standalone SVG file (namespace and style rules inline).
 * `overview` stacks verify success rate, live shares and faults on their
 * shared time axis: the compact picture of a run.
 *
 * @param result - the run's result
 * @param chart - which chart
 * @returns the SVG text
 * @example await writeFile('overview.svg', renderChartSvg(result, 'overview'))
 */
export function renderChartSvg (result: SimResult, chart: ChartName): string {
  if (chart === 'exposure') {
    const p = exposurePanel(result)
    return svgElement({ width: EXPOSURE_WIDTH, height: p.height }, p.title, p.body, true)
  }
  const panels = timePanels(result)
  const chosen = chart === 'overview' ? [panels.verify, panels['live-shares'], panels.faults] : [panels[chart]]
  if (chosen[0] === undefined) throw new RangeError(`unknown chart '${String(chart)}'`)
  const { body, height } = stack(chosen)
  const label = chart === 'overview' ? `bioshard sim ${result.scenario}: overview` : chosen[0].title
  return svgElement({ width: FRAME.width, height }, label, body, true)
}

function paramsRows (r: SimResult): string {
  const p = r.params
  const coalitions = p.coalitions.length === 0 ? 'none' : p.coalitions.map((c) => c.join(' + ')).join('; ')
  const cells: Array<[string, unknown]> = [
    ['nodes', num(p.nodes)], ['sites', num(p.sites)], ['templates', num(p.templates)], ['threshold t of n', `${num(p.t)} of ${num(p.n)}`],
    ['simulated hours', num(p.hours)], ['probes per hour', num(p.probesPerHour)], ['transport', p.transport], ['seed', num(p.seed)],
    ['coalitions tried', coalitions]
  ]
  return cells.map(([k, v]) => `<tr><th>${esc(k)}</th><td>${esc(v)}</td></tr>`).join('')
}

function countsRows (r: SimResult): string {
  const c = r.counts
  const cells: Array<[string, string]> = [
    ['enrolled', `${num(c.enrolled)} (${num(c.enrollFailed)} failed)`],
    ['verifications', `${num(c.verified)} of ${num(c.verifyAttempts)} accepted (${num(c.verifyFailed)} failed)`],
    ['templates lost', num(c.lost)],
    ['templates a coalition reconstructed', num(c.reconstructed)],
    ['erased', `${num(c.erased)} (${num(c.eraseIncomplete)} incomplete)`],
    ['Byzantine holders named', num(c.byzantineNamed)],
    ['most shares of one template on one node / one site', `${num(r.exposure.maxPerNode)} / ${num(r.exposure.maxPerSite)} (t = ${num(r.params.t)})`],
    ['faults injected', num(r.faults.length)],
    ...(c.repairs !== undefined ? [['repairs by maintenance (traffic)', `${num(c.repairs)} (${num(c.maintenanceBytes ?? 0)} bytes)`] as [string, string]] : [])
  ]
  return cells.map(([k, v]) => `<tr><th>${esc(k)}</th><td>${esc(v)}</td></tr>`).join('')
}

function invariantRow (i: InvariantCheck): string {
  const mark = i.holds === true ? '<td class="ok">holds</td>' : '<td class="fail">FAILS</td>'
  return `<tr>${mark}<th>${esc(i.name)}</th><td class="detail">${esc(i.detail)}</td></tr>`
}

function timingsText (r: SimResult): string {
  const t = r.timings
  const s = (ms: number): string => `${num(Number(ms) / 1000, 1)} s`
  const perEnrolment = t.enrollCpuMs !== undefined && r.counts.enrolled > 0 ? ` (${num(t.enrollCpuMs / r.counts.enrolled, 0)} ms of CPU each)` : ''
  return `start ${s(t.startMs)}, rosters converged ${s(t.convergeMs)}, enrolment ${s(t.enrollMs)}${perEnrolment}, run ${s(t.runMs)}; ` +
    `${num(t.rssMbPerNode, 1)} MB RSS per node, ${num(t.cpuPercent, 1)} % CPU`
}

const PAGE_STYLE = `
:root{color-scheme:light dark;--fg:#222;--bg:#fff;--muted:#555;--line:#ccc;--head:#f4f4f4;--ok:#15803d;--fail:#b91c1c;--failbg:#fde8e8}
@media (prefers-color-scheme: dark){:root{--fg:#e5e5e5;--bg:#161616;--muted:#aaa;--line:#444;--head:#232323;--ok:#4ade80;--fail:#f87171;--failbg:#3b1515}}
body{font:14px/1.45 system-ui,sans-serif;margin:2rem auto;max-width:60rem;padding:0 1rem;color:var(--fg);background:var(--bg)}
h1{font-size:1.4rem}h2{font-size:1.1rem;margin-top:2rem;border-bottom:1px solid var(--line)}
table{border-collapse:collapse;margin:.5rem 0}td,th{border:1px solid var(--line);padding:.25rem .5rem;text-align:left;vertical-align:top}
th{background:var(--head);font-weight:600}.ok{color:var(--ok);font-weight:700}.fail{color:var(--fail);background:var(--failbg);font-weight:700}
.verdict-fail{color:var(--fail);font-weight:700}.verdict-ok{color:var(--ok);font-weight:700}
pre{background:var(--head);padding:.5rem;overflow-x:auto;white-space:pre-wrap;word-break:break-all}.note{color:var(--muted)}
figure{margin:1rem 0}svg{max-width:100%;height:auto;display:block}
`

/**
 * Render a run's result as a self-contained HTML page.
 *
 * @param result - the run's result
 * @param where - as the run was given: the scenario argument (a file path, for a file scenario) and the output directory,
 *   used in the replay command
 * @returns the HTML text
 * @example await writeFile('report.html', renderReport(result))
 */
export function renderReport (result: SimResult, where: { scenario?: string, out?: string } = {}): string {
  const r = result
  const failed = r.invariants.filter((i) => i.holds !== true)
  const verdict = failed.length === 0
    ? `<p class="verdict-ok">Every invariant holds (${r.invariants.length}).</p>`
    : `<p class="verdict-fail">${failed.length} of ${r.invariants.length} invariants FAIL: ${failed.map((i) => esc(i.name)).join(', ')}.</p>`
  const panels = timePanels(r)
  const time = [panels.verify, panels.latency, panels['live-shares'], panels.unrecoverable, panels.faults]
    .map((p) => `<figure>${svgElement({ width: FRAME.width, height: p.height }, p.title, p.body)}</figure>`).join('\n')
  const exposure = exposurePanel(r)
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>bioshard sim — ${esc(r.scenario)} (seed ${num(r.params.seed)})</title>
<style>${PAGE_STYLE}${SVG_STYLE}</style></head><body>
<h1>Simulation: <code>${esc(r.scenario)}</code>, seed ${num(r.params.seed)}</h1>
${verdict}
<p>Replay this run (the counts come back identical; timings do not):</p>
<pre>${esc(replayCommand(r, where))}</pre>
<h2>Parameters</h2>
<table>${paramsRows(r)}</table>
<h2>Invariants</h2>
<table><tr><th>verdict</th><th>invariant</th><th>what was found</th></tr>${r.invariants.map(invariantRow).join('')}</table>
<h2>Counts</h2>
<table>${countsRows(r)}</table>
<p class="note">Counts are a function of the seed and the parameters. Timings are wall clock: ${esc(timingsText(r))}.</p>
<h2>Over simulated time</h2>
<p class="note">One axis for every chart: a step's measure sits in the middle of its hour, a fault at the start of the hour it was applied.</p>
${time}
<h2>Exposure</h2>
<figure>${svgElement({ width: EXPOSURE_WIDTH, height: exposure.height }, exposure.title, exposure.body)}</figure>
</body></html>
`
}

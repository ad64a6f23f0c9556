/**
 * The report's charts over simulated time: verify success rate, verify
 * latency, live shares per template, unrecoverable templates and the faults
 * injected. Every one is drawn on the same time axis (sim/report-svg.ts), so
 * stacked on a page a fault lines up with what it did. A step's measure is
 * drawn at the middle of its hour; a fault at the start of the hour it was
 * applied in.
 *
 * @module
 */
import type { FaultEvent, SimResult, StepRecord } from './types.ts'
import {
  FRAME, boxSwatch, esc, legend, lineSwatch, num, polyline, px, ticks, timeFrame, title, yScale, type Panel, type TimeAxis
} from './report-svg.ts'

/** Height of a line chart panel. */
const CHART_HEIGHT = 170
/** Height of one fault lane. */
const LANE = 16

const mid = (s: StepRecord): number => Number(s.hour) + 0.5

/**
 * Verified probes as a share of attempts, per hour (no point where nothing was tried).
 *
 * @param r - the run's result
 * @param axis - the shared time axis
 * @returns a panel
 */
export function verifyRatePanel (r: SimResult, axis: TimeAxis): Panel {
  const y = yScale(0, 100, CHART_HEIGHT)
  const points = r.steps.map((s): [number, number | null] => {
    const a = Number(s.verify.attempts)
    return [axis.x(mid(s)), a > 0 ? y(Number(s.verify.accepted) / a * 100) : null]
  })
  const body = [
    title('Verify success rate per hour'),
    timeFrame(axis, CHART_HEIGHT, { scale: y, ticks: [0, 25, 50, 75, 100], label: (v) => `${v} %` }),
    polyline(points, 's-ok'),
    legend([{ label: 'accepted / tried', swatch: lineSwatch('s-ok') }])
  ]
  return { title: 'Verify success rate per hour', height: CHART_HEIGHT, body: body.join('') }
}

/**
 * Verify latency p50 and p99 per hour, in ms (wall-clock: differs between runs of one seed).
 *
 * @param r - the run's result
 * @param axis - the shared time axis
 * @returns a panel
 */
export function latencyPanel (r: SimResult, axis: TimeAxis): Panel {
  const tried = r.steps.filter((s) => Number(s.verify.attempts) > 0)
  const top = Math.max(1, ...tried.map((s) => Number(s.latency.p99)).filter(Number.isFinite))
  const marks = ticks(top)
  const y = yScale(0, marks[marks.length - 1], CHART_HEIGHT)
  const line = (pick: (s: StepRecord) => number): Array<[number, number | null]> => r.steps.map((s) =>
    [axis.x(mid(s)), Number(s.verify.attempts) > 0 && Number.isFinite(pick(s)) ? y(pick(s)) : null])
  const body = [
    title('Verify latency per hour (ms, wall clock)'),
    timeFrame(axis, CHART_HEIGHT, { scale: y, ticks: marks, label: (v) => num(v, 1) }),
    polyline(line((s) => Number(s.latency.p50)), 's-p50'),
    polyline(line((s) => Number(s.latency.p99)), 's-p99', '5 3'),
    legend([{ label: 'p50', swatch: lineSwatch('s-p50') }, { label: 'p99', swatch: lineSwatch('s-p99', '5 3') }])
  ]
  return { title: 'Verify latency per hour', height: CHART_HEIGHT, body: body.join('') }
}

/**
 * Live correct shares per template: the hour's histogram as a heat band
 * (darker: more templates with that many shares), its minimum as a line,
 * and the threshold t no template may fall below.
 *
 * @param r - the run's result
 * @param axis - the shared time axis
 * @returns a panel
 */
export function liveSharesPanel (r: SimResult, axis: TimeAxis): Panel {
  const t = Number(r.params.t)
  const top = Math.max(Number(r.params.n) || 1, t || 1, ...r.steps.map((s) => s.liveShares.histogram.length - 1))
  const y = yScale(-0.5, top + 0.5, CHART_HEIGHT)
  const cells: string[] = []
  for (const s of r.steps) {
    const hist = s.liveShares.histogram.map(Number)
    const total = hist.reduce((a, b) => a + (Number.isFinite(b) ? b : 0), 0)
    hist.forEach((count, shares) => {
      if (!(count > 0) || total === 0) return
      const x0 = axis.x(Number(s.hour))
      const box = `x="${px(x0)}" y="${px(y(shares + 0.5))}" width="${px(axis.x(Number(s.hour) + 1) - x0)}" height="${px(y(shares - 0.5) - y(shares + 0.5))}"`
      const tip = `<title>hour ${num(s.hour)}: ${num(count)} templates with ${shares} shares</title>`
      cells.push(`<rect class="heat" ${box} fill-opacity="${(0.12 + 0.88 * count / total).toFixed(2)}">${tip}</rect>`)
    })
  }
  const tick = ticks(top, Math.min(top, 5))
  const body = [
    title(`Live correct shares per template (n = ${num(r.params.n)}, t = ${num(t)})`),
    timeFrame(axis, CHART_HEIGHT, { scale: y, ticks: tick, label: (v) => num(v) }),
    cells.join(''),
    `<line class="s-t" x1="${FRAME.left}" y1="${px(y(t))}" x2="${FRAME.width - FRAME.right}" y2="${px(y(t))}" stroke-dasharray="6 3"/>`,
    polyline(r.steps.map((s) => [axis.x(mid(s)), y(Number(s.liveShares.min))]), 's-min'),
    legend([
      { label: 'minimum', swatch: lineSwatch('s-min') },
      { label: `threshold t = ${num(t)}`, swatch: lineSwatch('s-t', '6 3') },
      { label: 'templates (heat)', swatch: boxSwatch('heat') }
    ])
  ]
  return { title: 'Live correct shares per template', height: CHART_HEIGHT, body: body.join('') }
}

/**
 * Templates with fewer than t live correct shares, per hour.
 *
 * @param r - the run's result
 * @param axis - the shared time axis
 * @returns a panel
 */
export function unrecoverablePanel (r: SimResult, axis: TimeAxis): Panel {
  const height = 130
  const top = Math.max(1, ...r.steps.map((s) => Number(s.unrecoverable)).filter(Number.isFinite))
  const marks = ticks(top, Math.min(top, 4))
  const y = yScale(0, marks[marks.length - 1], height)
  const bars = r.steps.filter((s) => Number(s.unrecoverable) > 0).map((s) => {
    const x0 = axis.x(Number(s.hour)) + 1
    const w = Math.max(1, axis.x(Number(s.hour) + 1) - x0 - 1)
    return `<rect class="f-lost" x="${px(x0)}" y="${px(y(Number(s.unrecoverable)))}" width="${px(w)}" height="${px(y(0) - y(Number(s.unrecoverable)))}"/>`
  })
  const body = [
    title('Unrecoverable templates (fewer than t live correct shares)'),
    timeFrame(axis, height, { scale: y, ticks: marks, label: (v) => num(v) }),
    bars.join(''),
    polyline(r.steps.map((s) => [axis.x(mid(s)), y(Number(s.unrecoverable))]), 's-lost'),
    legend([{ label: 'unrecoverable', swatch: lineSwatch('s-lost') }])
  ]
  return { title: 'Unrecoverable templates', height, body: body.join('') }
}

/** Fault kinds in lane order; a kind not listed (a newer schedule) gets the `other` lane. */
const KINDS = ['crash', 'restart', 'depart', 'partition', 'isolate', 'heal', 'link', 'clog', 'unclog', 'skew', 'byzantine', 'erase'] as const

/** The class of a kind's colour: its own when known, `k-other` when not (a kind is never copied into markup). */
function kindClass (kind: unknown): string {
  return (KINDS as readonly unknown[]).includes(kind) ? `k-${String(kind)}` : 'k-other'
}

/** One lasting fault: from its event to the event that ends it (or the end of the run). */
interface Span { kind: string, from: number, to: number, node?: number }

/** The end of each lasting fault: crash until restart, clog until unclog, partition and isolation until heal; others last to the end. */
function spans (faults: readonly FaultEvent[], hours: number): Span[] {
  const out: Span[] = []
  const ends: Partial<Record<string, (e: FaultEvent, s: Span) => boolean>> = {
    crash: (e, s) => (e.kind === 'restart' || e.kind === 'depart') && e.node === s.node,
    clog: (e, s) => e.kind === 'unclog' && e.node === s.node,
    partition: (e) => e.kind === 'heal',
    isolate: (e) => e.kind === 'heal',
    link: (e, s) => e.kind === 'link' && e.node === s.node,
    byzantine: () => false,
    skew: (e, s) => e.kind === 'skew' && e.node === s.node
  }
  faults.forEach((f, i) => {
    const endsIt = ends[f.kind]
    if (endsIt === undefined) return
    const span: Span = { kind: f.kind, from: Number(f.at), to: hours, node: 'node' in f ? Number(f.node) : undefined }
    const end = faults.slice(i + 1).find((e) => Number(e.at) >= span.from && endsIt(e, span))
    if (end !== undefined) span.to = Number(end.at)
    out.push(span)
  })
  return out
}

/** What a fault event says, for its tooltip. */
function describe (f: FaultEvent): string {
  const rest = Object.entries(f).filter(([k]) => k !== 'at' && k !== 'kind').map(([k, v]) => `${k} ${JSON.stringify(v)}`)
  return `hour ${num(f.at)}: ${String(f.kind)}${rest.length > 0 ? ` (${rest.join(', ')})` : ''}`
}

/**
 * The faults injected: one lane per kind present, a marker at each event
 * and a band while a lasting fault (a crash, a clog, a partition…) holds.
 *
 * @param r - the run's result
 * @param axis - the shared time axis
 * @returns a panel
 */
export function faultsPanel (r: SimResult, axis: TimeAxis): Panel {
  const present = [...new Set(r.faults.map((f) => kindClass(f.kind)))]
  const lanes = [...KINDS.map((k) => `k-${k}`), 'k-other'].filter((c) => present.includes(c))
  const height = FRAME.top + Math.max(1, lanes.length) * LANE + FRAME.bottom
  const laneY = (cls: string): number => FRAME.top + lanes.indexOf(cls) * LANE
  const bands = spans(r.faults, axis.hours).map((s) => {
    const cls = kindClass(s.kind)
    const x0 = axis.x(s.from)
    return `<rect class="${cls} band" x="${px(x0)}" y="${px(laneY(cls) + 2)}" width="${px(Math.max(1, axis.x(s.to) - x0))}" height="${LANE - 4}"/>`
  })
  const marks = r.faults.map((f) => {
    const cls = kindClass(f.kind)
    const x = axis.x(Number(f.at))
    const y0 = laneY(cls) + LANE / 2
    return `<path class="${cls}" d="M${px(x)} ${px(y0 - 5)}l4 5l-4 5l-4 -5z"><title>${esc(describe(f))}</title></path>`
  })
  const counts = new Map<string, number>()
  for (const f of r.faults) counts.set(kindClass(f.kind), (counts.get(kindClass(f.kind)) ?? 0) + 1)
  const names = lanes.map((cls) => `${cls.slice(2)} ×${counts.get(cls) ?? 0}`)
  const frame = timeFrame(axis, height, { scale: () => 0, ticks: [], label: () => '' })
  const laneLines = lanes.map((cls) => `<line class="grid" x1="${FRAME.left}" y1="${laneY(cls) + LANE}" x2="${FRAME.width - FRAME.right}" ` +
    `y2="${laneY(cls) + LANE}"/>` +
    `<text class="lbl" x="${FRAME.left - 6}" y="${laneY(cls) + LANE / 2 + 4}" text-anchor="end">${cls.slice(2)}</text>`)
  const body = [
    title(r.faults.length === 0 ? 'Faults injected: none' : 'Faults injected'),
    frame,
    laneLines.join(''),
    bands.join(''),
    marks.join(''),
    legend(lanes.map((cls, i) => ({ label: names[i], swatch: boxSwatch(cls) })))
  ]
  return { title: 'Faults injected', height, body: body.join('') }
}

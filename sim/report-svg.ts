/**
 * Drawing primitives for the simulation report: escaping, number
 * formatting, the one simulated-time axis every time chart shares, and the
 * panel frame. Charts are written as SVG text by hand: the charting
 * libraries on npm either need a DOM or a canvas to render (Chart.js,
 * chartist, Observable Plot, ECharts), or render headless but bring a large
 * tree of packages (Vega, some thirty); the report needs lines, bars and
 * rectangles on a linear axis, which is a few dozen lines here.
 *
 * Colours are classes (`c-*`), so the page's stylesheet can switch them for
 * a dark background; a standalone SVG carries the same rules inline.
 *
 * @module
 */

/** Escape text for HTML and SVG content and attribute values. */
export function esc (s: unknown): string {
  return String(s).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] as string)
}

/** A coordinate with one decimal; anything not a finite number draws as 0 (a hostile result cannot inject text). */
export function px (x: unknown): string {
  const n = Number(x)
  return Number.isFinite(n) ? n.toFixed(1) : '0'
}

/** A count or measure for a label or table cell: finite numbers only, up to `digits` decimals. */
export function num (x: unknown, digits = 0): string {
  const n = Number(x)
  if (!Number.isFinite(n)) return '–'
  return digits === 0 ? String(Math.round(n)) : String(Number(n.toFixed(digits)))
}

/** Width of every time chart, and its margins: equal margins keep the panels' hour axes aligned on the page. */
export const FRAME = { width: 760, left: 64, right: 132, top: 22, bottom: 26 } as const

/** The shared simulated-time axis: hour 0 at the left margin, `hours` at the right. */
export interface TimeAxis {
  hours: number
  /** The x coordinate of simulated hour `h`. */
  x: (h: number) => number
}

/** The time axis for a run of `hours` simulated hours (at least one). */
export function timeAxis (hours: number): TimeAxis {
  const span = Math.max(1, Number.isFinite(hours) ? hours : 1)
  const inner = FRAME.width - FRAME.left - FRAME.right
  return { hours: span, x: (h) => FRAME.left + Math.min(Math.max(h, 0), span) / span * inner }
}

/** One chart panel: its height and its SVG content, drawn from y = 0. */
export interface Panel {
  /** Accessible name and heading of the chart. */
  title: string
  height: number
  body: string
}

/** A linear y scale mapping [lo, hi] onto a panel of `height`, inside the frame's margins. */
export function yScale (lo: number, hi: number, height: number): (v: number) => number {
  const top = FRAME.top
  const bottom = height - FRAME.bottom
  const span = hi > lo ? hi - lo : 1
  return (v) => bottom - (Math.min(Math.max(v, lo), hi) - lo) / span * (bottom - top)
}

/** About `count` round tick values from 0 to `hi` (1, 2 or 5 times a power of ten apart). */
export function ticks (hi: number, count = 4): number[] {
  if (!(hi > 0)) return [0]
  const raw = hi / count
  const mag = 10 ** Math.floor(Math.log10(raw))
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? raw
  const out: number[] = []
  for (let v = 0; v <= hi + step * 1e-9; v += step) out.push(Number(v.toPrecision(12)))
  return out
}

/** Hour ticks for the time axis: about eight, on round hours. */
export function hourTicks (axis: TimeAxis): number[] {
  return ticks(axis.hours, 8).filter((h) => Number.isInteger(h))
}

/**
 * The frame of a time panel: title, plot box, horizontal grid with y
 * labels, and the hour axis at the bottom.
 *
 * @param axis - the shared time axis
 * @param height - the panel height
 * @param y - the panel's y scale and the values to label
 * @returns SVG elements
 */
export function timeFrame (axis: TimeAxis, height: number, y: { scale: (v: number) => number, ticks: number[], label: (v: number) => string }): string {
  const right = FRAME.width - FRAME.right
  const bottom = height - FRAME.bottom
  const parts: string[] = []
  for (const v of y.ticks) {
    parts.push(`<line class="grid" x1="${FRAME.left}" y1="${px(y.scale(v))}" x2="${right}" y2="${px(y.scale(v))}"/>`)
    parts.push(`<text class="lbl" x="${FRAME.left - 6}" y="${px(y.scale(v) + 4)}" text-anchor="end">${esc(y.label(v))}</text>`)
  }
  for (const h of hourTicks(axis)) {
    parts.push(`<line class="axis" x1="${px(axis.x(h))}" y1="${bottom}" x2="${px(axis.x(h))}" y2="${bottom + 4}"/>`)
    parts.push(`<text class="lbl" x="${px(axis.x(h))}" y="${bottom + 15}" text-anchor="middle">${h} h</text>`)
  }
  parts.push(`<rect class="box" x="${FRAME.left}" y="${FRAME.top}" width="${right - FRAME.left}" height="${bottom - FRAME.top}"/>`)
  return parts.join('')
}

/** A panel title at its top left. */
export function title (text: string): string {
  return `<text class="ttl" x="${FRAME.left}" y="${FRAME.top - 7}">${esc(text)}</text>`
}

/** Legend entries stacked in the right margin; `swatch` draws a mark at (x, y). */
export function legend (entries: Array<{ label: string, swatch: (x: number, y: number) => string }>, top = FRAME.top): string {
  const x = FRAME.width - FRAME.right + 10
  return entries.map((e, i) => {
    const y = top + 8 + i * 15
    return `${e.swatch(x, y)}<text class="lbl" x="${x + 20}" y="${y + 4}">${esc(e.label)}</text>`
  }).join('')
}

/** A legend swatch: a short line of class `cls` (with optional dash). */
export function lineSwatch (cls: string, dash = ''): (x: number, y: number) => string {
  const d = dash === '' ? '' : ` stroke-dasharray="${dash}"`
  return (x, y) => `<line class="${cls}" x1="${x}" y1="${y}" x2="${x + 14}" y2="${y}"${d}/>`
}

/** A legend swatch: a small filled box of class `cls`. */
export function boxSwatch (cls: string): (x: number, y: number) => string {
  return (x, y) => `<rect class="${cls}" x="${x}" y="${y - 5}" width="14" height="10"/>`
}

/** A polyline through the points with a value; a missing value (null) breaks the line, and a lone point draws as a dot. */
export function polyline (points: Array<[number, number | null]>, cls: string, dash = ''): string {
  const runs: Array<Array<[number, number]>> = [[]]
  for (const [x, y] of points) {
    if (y === null) runs.push([])
    else runs[runs.length - 1].push([x, y])
  }
  const d = dash === '' ? '' : ` stroke-dasharray="${dash}"`
  return runs.filter((r) => r.length > 0).map((r) => r.length === 1
    ? `<circle class="${cls} dot" cx="${px(r[0][0])}" cy="${px(r[0][1])}" r="2"/>`
    : `<polyline class="${cls}" fill="none" points="${r.map(([x, y]) => `${px(x)},${px(y)}`).join(' ')}"${d}/>`).join('')
}

/** The rules every chart's classes need, for a light page and a dark one (prefers-color-scheme). */
export const SVG_STYLE = `
svg{font:11px system-ui,sans-serif}
.lbl,.ttl{fill:#333}.ttl{font-weight:600;font-size:12px}.grid{stroke:#e3e3e3}.axis,.box{stroke:#777;fill:none}
.s-ok{stroke:#1f7a3f;stroke-width:2}.s-p50{stroke:#1f5fa8;stroke-width:2}.s-p99{stroke:#c2410c;stroke-width:2}
.s-min{stroke:#7c3aed;stroke-width:2}.s-lost{stroke:#b91c1c;stroke-width:2}.s-t{stroke:#b91c1c;stroke-width:1.5}
.dot{fill:none}.heat{fill:#1f5fa8}.f-bar{fill:#1f5fa8}.f-co{fill:#7c3aed}.f-over{fill:#b91c1c}.f-lost{fill:#b91c1c;fill-opacity:.35}
.k-crash{fill:#b91c1c}.k-restart{fill:#15803d}.k-depart{fill:#111}.k-partition{fill:#c2410c}.k-isolate{fill:#d97706}
.k-heal{fill:#0d9488}.k-link{fill:#2563eb}.k-clog{fill:#7c3aed}.k-unclog{fill:#a78bfa}.k-skew{fill:#0891b2}
.k-byzantine{fill:#be185d}.k-erase{fill:#4b5563}.k-other{fill:#999}.band{fill-opacity:.22}
@media (prefers-color-scheme: dark){
.lbl,.ttl{fill:#ddd}.grid{stroke:#3a3a3a}.axis,.box{stroke:#999}
.s-ok{stroke:#4ade80}.s-p50{stroke:#60a5fa}.s-p99{stroke:#fb923c}.s-min{stroke:#c4b5fd}.s-lost{stroke:#f87171}.s-t{stroke:#f87171}
.heat{fill:#60a5fa}.f-bar{fill:#60a5fa}.f-co{fill:#c4b5fd}.f-over{fill:#f87171}.k-depart{fill:#ddd}.k-erase{fill:#9ca3af}}
`

/** A complete `<svg>` element of `width`×`height`; `standalone` adds the namespace and the style rules, for a file of its own. */
export function svgElement (size: { width: number, height: number }, label: string, body: string, standalone = false): string {
  const head = standalone ? 'xmlns="http://www.w3.org/2000/svg" ' : ''
  const style = standalone ? `<style>${SVG_STYLE}</style>` : ''
  const attrs = `viewBox="0 0 ${size.width} ${size.height}" width="${size.width}" height="${size.height}" role="img" aria-label="${esc(label)}"`
  return `<svg ${head}${attrs}>${style}${body}</svg>`
}

/**
 * The report's exposure chart: for each site and each coalition tried, the
 * most shares of one template it held (read from the nodes' stores), as
 * horizontal bars against the threshold t, the line no bar may reach: a
 * party holding t shares of one template could reconstruct it. Coalitions
 * also show how many templates pooling their shares actually reconstructed.
 *
 * @module
 */
import type { SimResult } from './types.ts'
import { esc, num, px, ticks, type Panel } from './report-svg.ts'

/** Bar chart geometry: label column, bar area, row height. */
const GEOMETRY = { width: 760, label: 190, right: 150, top: 26, bottom: 26, row: 18 } as const

interface Row { label: string, value: number, cls: string, note: string }

function rows (r: SimResult): Row[] {
  const t = Number(r.params.t)
  const over = (v: number): boolean => v >= t
  const node: Row = { label: 'any one node', value: Number(r.exposure.maxPerNode), cls: 'f-bar', note: '' }
  const sites = r.exposure.perSite.map((s): Row => ({ label: String(s.site), value: Number(s.maxShares), cls: 'f-bar', note: '' }))
  const coalitions = r.exposure.coalitions.map((c): Row => ({
    label: c.sites.map(String).join(' + '),
    value: Number(c.maxShares),
    cls: 'f-co',
    note: `reconstructed ${num(c.reconstructed)}`
  }))
  return [node, ...sites, ...coalitions].map((row) => over(row.value) ? { ...row, cls: 'f-over' } : row)
}

/**
 * Exposure per node, per site and per coalition, with t drawn.
 *
 * @param r - the run's result
 * @returns a panel (its own geometry: bars, not time)
 */
export function exposurePanel (r: SimResult): Panel {
  const G = GEOMETRY
  const t = Number(r.params.t)
  const list = rows(r)
  const height = G.top + Math.max(1, list.length) * G.row + G.bottom
  const top = Math.max(1, t, ...list.map((row) => row.value).filter(Number.isFinite)) + 1
  const marks = ticks(top, Math.min(top, 6))
  const hi = marks[marks.length - 1]
  const x = (v: number): number => G.label + Math.min(Math.max(v, 0), hi) / hi * (G.width - G.label - G.right)
  const bottom = height - G.bottom
  const parts: string[] = [`<text class="ttl" x="8" y="${G.top - 9}">Most shares of one template held (t = ${num(t)}: no bar may reach the line)</text>`]
  for (const v of marks) {
    parts.push(`<line class="grid" x1="${px(x(v))}" y1="${G.top}" x2="${px(x(v))}" y2="${bottom}"/>`)
    parts.push(`<text class="lbl" x="${px(x(v))}" y="${bottom + 15}" text-anchor="middle">${num(v)}</text>`)
  }
  list.forEach((row, i) => {
    const y0 = G.top + i * G.row
    const w = Math.max(0, x(row.value) - x(0))
    parts.push(`<text class="lbl" x="${G.label - 6}" y="${y0 + 13}" text-anchor="end">${esc(row.label)}</text>`)
    const tip = `<title>${esc(row.label)}: ${num(row.value)}</title>`
    parts.push(`<rect class="${row.cls}" x="${G.label}" y="${y0 + 3}" width="${px(w)}" height="${G.row - 6}">${tip}</rect>`)
    const text = `${num(row.value)}${row.note === '' ? '' : ` · ${row.note}`}`
    parts.push(`<text class="lbl" x="${px(x(row.value) + 4)}" y="${y0 + 13}">${esc(text)}</text>`)
  })
  parts.push(`<line class="s-t" x1="${px(x(t))}" y1="${G.top - 4}" x2="${px(x(t))}" y2="${bottom}" stroke-dasharray="6 3"/>`)
  parts.push(`<text class="lbl" x="${px(x(t) + 4)}" y="${G.top + 11}">t = ${num(t)}</text>`)
  parts.push(`<rect class="box" x="${G.label}" y="${G.top}" width="${G.width - G.label - G.right}" height="${bottom - G.top}"/>`)
  return { title: 'Exposure per site and per coalition', height, body: parts.join('') }
}

/** Width of the exposure chart. */
export const EXPOSURE_WIDTH = GEOMETRY.width

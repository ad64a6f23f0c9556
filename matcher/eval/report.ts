/**
 * The evaluation report as one self-contained HTML page: inline CSS, no
 * scripts, no external assets; a DET curve on log-scaled axes and
 * genuine/impostor score histograms drawn as inline SVG, so the file can be
 * mailed or archived and still open years later.
 *
 * @module
 */
import type { EvalResult, ScoreMetrics } from './evaluate.ts'
import type { OperatingPoint } from './metrics.ts'

const esc = (s: string): string => s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] as string)
const pct = (x: number): string => `${(x * 100).toFixed(x > 0 && x < 0.001 ? 3 : 2)} %`
const num = (x: number, d = 4): string => Number.isFinite(x) ? x.toFixed(d) : String(x)
const px = (x: number): string => x.toFixed(1)

/** A complete `<svg>` element of `w`×`h` holding `parts`, labelled for screen readers. */
function svg (w: number, h: number, label: string, parts: readonly string[]): string {
  const attrs = `viewBox="0 0 ${w} ${h}" width="${w}" height="${h}" font-size="11" font-family="sans-serif" role="img" aria-label="${label}"`
  return `<svg xmlns="http://www.w3.org/2000/svg" ${attrs}>${parts.join('')}</svg>`
}

const COLOURS = { f32: '#1f5fa8', i8: '#d9822b', genuine: '#2a9d4b', impostor: '#c0392b', grid: '#ddd', axis: '#444' }

/** Keep a point when it moves at least `step` decades from the last one kept (log–log), plus the ends. */
function thin (points: readonly OperatingPoint[], floor: number, step = 0.01): OperatingPoint[] {
  const lg = (v: number): number => Math.log10(Math.max(v, floor))
  const out: OperatingPoint[] = []
  for (let i = 0; i < points.length; i++) {
    const p = points[i]
    const last = out[out.length - 1]
    if (last === undefined || i === points.length - 1) {
      out.push(p)
      continue
    }
    if (Math.abs(lg(p.fmr) - lg(last.fmr)) + Math.abs(lg(p.fnmr) - lg(last.fnmr)) >= step) out.push(p)
  }
  return out
}

/** One named DET curve. */
export interface DetCurve { label: string, colour: string, points: readonly OperatingPoint[] }

/** A labelled operating point marked on a DET curve. */
export interface DetMark { label: string, point: OperatingPoint }

/**
 * The DET curve (FNMR against FMR, both log-scaled); zero rates are drawn on
 * the axis minimum, which sits below the finest rate the data can show.
 *
 * @param curves - named operating points with colours
 * @param floor - the axis minimum (a power of ten)
 * @param marks - operating points to mark
 * @returns an `<svg>` element
 */
export function detSvg (curves: DetCurve[], floor: number, marks: DetMark[] = []): string {
  const W = 540; const H = 440; const L = 64; const R = 28; const T = 16; const B = 48
  const lo = Math.log10(floor)
  const x = (v: number): number => L + (Math.log10(Math.max(v, floor)) - lo) / -lo * (W - L - R)
  const y = (v: number): number => T + (1 - (Math.log10(Math.max(v, floor)) - lo) / -lo) * (H - T - B)
  const parts: string[] = []
  for (let e = Math.round(lo); e <= 0; e++) {
    const v = 10 ** e
    const label = e >= -2 ? `${v * 100} %` : `${(v * 100).toPrecision(1)} %`
    parts.push(`<line x1="${px(x(v))}" y1="${T}" x2="${px(x(v))}" y2="${H - B}" stroke="${COLOURS.grid}"/>`)
    parts.push(`<line x1="${L}" y1="${px(y(v))}" x2="${W - R}" y2="${px(y(v))}" stroke="${COLOURS.grid}"/>`)
    parts.push(`<text x="${px(x(v))}" y="${H - B + 16}" text-anchor="middle">${label}</text>`)
    parts.push(`<text x="${L - 6}" y="${px(y(v) + 4)}" text-anchor="end">${label}</text>`)
  }
  parts.push(`<line x1="${px(x(floor))}" y1="${px(y(floor))}" x2="${px(x(1))}" y2="${px(y(1))}" stroke="#bbb" stroke-dasharray="4 4"/>`)
  parts.push(`<rect x="${L}" y="${T}" width="${W - L - R}" height="${H - T - B}" fill="none" stroke="${COLOURS.axis}"/>`)
  parts.push(`<text x="${(L + W - R) / 2}" y="${H - 10}" text-anchor="middle">FMR (false match rate)</text>`)
  parts.push(`<text transform="translate(16 ${(T + H - B) / 2}) rotate(-90)" text-anchor="middle">FNMR (false non-match rate)</text>`)
  curves.forEach((c, k) => {
    // Later curves dashed and thinner, so a curve drawn over an identical one stays visible.
    const style = k === 0 ? 'stroke-width="3"' : 'stroke-width="1.5" stroke-dasharray="6 3"'
    const pts = thin(c.points, floor).map((p) => `${px(x(p.fmr))},${px(y(p.fnmr))}`).join(' ')
    parts.push(`<polyline fill="none" stroke="${c.colour}" ${style} points="${pts}"/>`)
    parts.push(`<line x1="${W - R - 150}" y1="${T + 16 + k * 18}" x2="${W - R - 126}" y2="${T + 16 + k * 18}" stroke="${c.colour}" ${style}/>`)
    parts.push(`<text x="${W - R - 120}" y="${T + 20 + k * 18}">${esc(c.label)}</text>`)
  })
  for (const m of marks) {
    parts.push(`<circle cx="${px(x(m.point.fmr))}" cy="${px(y(m.point.fnmr))}" r="4" fill="none" stroke="#000"/>`)
    parts.push(`<text x="${px(x(m.point.fmr) + 7)}" y="${px(y(m.point.fnmr) - 7)}">${esc(m.label)}</text>`)
  }
  return svg(W, H, 'DET curve', parts)
}

/**
 * Overlaid histograms of genuine and impostor scores, each normalised to
 * its own count (the classes differ in size by orders of magnitude), with
 * vertical lines at the given thresholds.
 *
 * @param genuine - genuine scores
 * @param impostor - impostor scores
 * @param lines - thresholds to draw
 * @returns an `<svg>` element
 */
export function histogramSvg (genuine: readonly number[], impostor: readonly number[], lines: Array<{ label: string, value: number }> = []): string {
  const W = 520; const H = 300; const L = 48; const R = 16; const T = 16; const B = 44
  const all = [...genuine, ...impostor]
  const lo = Math.floor(Math.min(...all, ...lines.map((l) => l.value)) * 20) / 20
  const hi = Math.ceil(Math.max(...all, ...lines.map((l) => l.value)) * 20) / 20 + 1e-9
  const bins = 50
  const width = (hi - lo) / bins
  const hist = (v: readonly number[]): number[] => {
    const h = new Array<number>(bins).fill(0)
    for (const s of v) h[Math.min(bins - 1, Math.floor((s - lo) / width))] += 1 / v.length
    return h
  }
  const hg = hist(genuine); const hi2 = hist(impostor)
  const top = Math.max(...hg, ...hi2) * 1.1
  const x = (v: number): number => L + (v - lo) / (hi - lo) * (W - L - R)
  const y = (f: number): number => H - B - f / top * (H - T - B)
  const parts: string[] = []
  for (let k = Math.ceil(lo * 10); k / 10 <= hi; k++) {
    const t = k / 10
    parts.push(`<line x1="${px(x(t))}" y1="${T}" x2="${px(x(t))}" y2="${H - B}" stroke="${COLOURS.grid}"/>`)
    parts.push(`<text x="${px(x(t))}" y="${H - B + 14}" text-anchor="middle">${t.toFixed(1)}</text>`)
  }
  const bars = (h: number[], colour: string): void => {
    h.forEach((f, i) => {
      if (f <= 0) return
      const box = `x="${px(x(lo + i * width))}" y="${px(y(f))}" width="${px(x(lo + width) - x(lo))}" height="${px(H - B - y(f))}"`
      parts.push(`<rect ${box} fill="${colour}" fill-opacity="0.55"/>`)
    })
  }
  bars(hi2, COLOURS.impostor)
  bars(hg, COLOURS.genuine)
  lines.forEach((l, k) => {
    parts.push(`<line x1="${px(x(l.value))}" y1="${T}" x2="${px(x(l.value))}" y2="${H - B}" stroke="#000" stroke-dasharray="${k === 0 ? '5 3' : '2 2'}"/>`)
    parts.push(`<text x="${px(x(l.value) + 4)}" y="${T + 12 + k * 14}">${esc(l.label)}</text>`)
  })
  parts.push(`<rect x="${L}" y="${T}" width="${W - L - R}" height="${H - T - B}" fill="none" stroke="${COLOURS.axis}"/>`)
  parts.push(`<text x="${(L + W - R) / 2}" y="${H - 10}" text-anchor="middle">cosine similarity</text>`)
  parts.push(`<text transform="translate(14 ${(T + H - B) / 2}) rotate(-90)" text-anchor="middle">fraction of pairs</text>`)
  parts.push(`<rect x="${L + 10}" y="${T + 8}" width="12" height="10" fill="${COLOURS.impostor}" fill-opacity="0.55"/>`)
  parts.push(`<text x="${L + 26}" y="${T + 17}">impostor (${impostor.length})</text>`)
  parts.push(`<rect x="${L + 10}" y="${T + 24}" width="12" height="10" fill="${COLOURS.genuine}" fill-opacity="0.55"/>`)
  parts.push(`<text x="${L + 26}" y="${T + 33}">genuine (${genuine.length})</text>`)
  return svg(W, H, 'score histograms', parts)
}

function metricsRow (label: string, m: ScoreMetrics): string {
  const cells = [
    pct(m.eer), num(m.eerThreshold), pct(m.fnmrAtFmr1e2.fnmr), pct(m.fnmrAtFmr1e3.fnmr),
    num(m.atTarget.threshold), pct(m.atTarget.fmr), pct(m.atTarget.fnmr), num(m.genuineMean, 3), num(m.impostorMean, 3)
  ]
  return `<tr><th>${esc(label)}</th>${cells.map((c) => `<td>${c}</td>`).join('')}</tr>`
}

function accuracyHead (targetFmr: number): string {
  const heads = [
    'templates', 'EER', 'EER threshold', 'FNMR @ FMR 1e-2', 'FNMR @ FMR 1e-3', `threshold (FMR ≤ ${targetFmr})`,
    'FMR there', 'FNMR there', 'genuine mean', 'impostor mean'
  ]
  return `<tr>${heads.map((h) => `<th>${h}</th>`).join('')}</tr>`
}

function failureRow (f: { file: string, code: string, message: string }): string {
  return `<tr><td>${esc(f.file)}</td><td>${esc(f.code)}</td><td>${esc(f.message)}</td></tr>`
}

/**
 * Render an evaluation result as a self-contained HTML page.
 *
 * @param r - the result of `evaluate`
 * @returns the HTML text
 * @example await writeFile('report.html', renderReport(await evaluate(dir)))
 */
export function renderReport (r: EvalResult): string {
  const floor = 10 ** Math.floor(Math.log10(Math.min(1 / r.pairs.impostor, 1 / r.pairs.genuine) / 2))
  const at = r.f32.atTarget
  const det = detSvg(
    [{ label: 'float32 templates', colour: COLOURS.f32, points: r.f32.det }, { label: 'int8 templates', colour: COLOURS.i8, points: r.i8.det }],
    floor,
    [{ label: `threshold ${num(at.threshold, 3)}`, point: { threshold: at.threshold, fmr: at.fmr, fnmr: at.fnmr } }]
  )
  const hist = histogramSvg(r.scores.genuine, r.scores.impostor, [
    { label: `FMR ≤ ${r.settings.targetFmr}: ${num(at.threshold, 3)}`, value: at.threshold },
    { label: `EER: ${num(r.f32.eerThreshold, 3)}`, value: r.f32.eerThreshold }
  ])
  const rows = (list: Array<{ a: string, b: string, score: number }>): string =>
    list.map((p) => `<tr><td>${esc(p.a)}</td><td>${esc(p.b)}</td><td>${num(p.score)}</td></tr>`).join('')
  const failures = r.images.failures.length === 0
    ? '<p>None: every image produced a template.</p>'
    : `<table><tr><th>file</th><th>code</th><th>message</th></tr>${r.images.failures.map(failureRow).join('')}</table>`
  const unresolved = at.allowedFalseMatches === 0
    ? ', so the threshold only says that no impostor pair reached it; more impostor pairs are needed to resolve a rate this small'
    : ''
  const multi = r.images.multiFace.length === 0 ? 'none' : r.images.multiFace.map((m) => `${esc(m.file)} (${m.faces})`).join(', ')
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>bioshard face evaluation — ${esc(r.model.id)}</title>
<style>
body{font:14px/1.45 system-ui,sans-serif;margin:2rem auto;max-width:72rem;padding:0 1rem;color:#222}
h1{font-size:1.4rem}h2{font-size:1.1rem;margin-top:2rem;border-bottom:1px solid #ccc}
table{border-collapse:collapse;margin:.5rem 0}td,th{border:1px solid #ccc;padding:.25rem .5rem;text-align:right}th{background:#f4f4f4}
td:first-child,th:first-child{text-align:left}.figs{display:flex;flex-wrap:wrap;gap:1.5rem}.note{color:#555;max-width:60rem}
code{background:#f4f4f4;padding:0 .2rem}
</style></head><body>
<h1>Face matcher evaluation — <code>${esc(r.model.id)}</code> (${r.model.dim}-d)</h1>
<p>Dataset <code>${esc(r.dataset)}</code>, ${r.identities} identities, ${r.images.embedded} of ${r.images.total} images embedded
(failure to enrol ${pct(r.images.failureToEnrolRate)}); ${r.pairs.genuine} genuine and ${r.pairs.impostor} impostor pairs
(FMR resolution 1/${r.pairs.impostor} = ${r.pairs.fmrResolution.toExponential(2)}). Generated ${esc(r.createdAt)}.</p>
<h2>Accuracy</h2>
<table>
${accuracyHead(r.settings.targetFmr)}
${metricsRow('float32', r.f32)}
${metricsRow('int8', r.i8)}
</table>
<p class="note">Threshold rule: ${esc(r.thresholdRule)}. At the target FMR ${r.settings.targetFmr} this allows
${at.allowedFalseMatches} of ${at.impostorPairs} impostor pairs${unresolved}.</p>
<p class="note">int8 templates: ${r.i8.templateBytes.i8} bytes encoded against ${r.i8.templateBytes.f32} for float32;
score change mean ${r.i8.scoreDelta.meanAbs.toExponential(2)}, max ${r.i8.scoreDelta.maxAbs.toExponential(2)};
EER change ${((r.i8.eer - r.f32.eer) * 100).toFixed(3)} percentage points.</p>
<div class="figs"><figure>${det}<figcaption>DET curve (log–log). Zero rates are drawn on the axis minimum.</figcaption></figure>
<figure>${hist}<figcaption>Cosine scores, float32 templates; each class normalised to its own count.</figcaption></figure></div>
<h2>Failures</h2>
${failures}
<p>Images with more than one face (the most confident one was used): ${multi}. Lowest quality score accepted: ${num(r.images.qualityMin, 3)}.</p>
<h2>Hardest pairs</h2>
<div class="figs"><div><h3>lowest genuine</h3><table><tr><th>a</th><th>b</th><th>score</th></tr>${rows(r.hardest.genuine)}</table></div>
<div><h3>highest impostor</h3><table><tr><th>a</th><th>b</th><th>score</th></tr>${rows(r.hardest.impostor)}</table></div></div>
<h2>Settings</h2>
<table>
<tr><th>detector</th><td>${esc(r.model.detector)}</td></tr><tr><th>embedder</th><td>${esc(r.model.embedder)}</td></tr>
<tr><th>detector score threshold</th><td>${r.settings.detectorScoreThreshold}</td></tr><tr><th>NMS IoU</th><td>${r.settings.nmsIouThreshold}</td></tr>
<tr><th>enlarge small photos</th><td>${r.settings.upscale ? 'yes' : 'no'}</td></tr><tr><th>quality floor</th><td>${r.settings.qualityFloor}</td></tr>
<tr><th>ONNX intra-op threads</th><td>${r.settings.intraOpThreads}</td></tr>
<tr><th>median time per image</th><td>${r.timing.medianMsPerImage.toFixed(1)} ms</td></tr>
<tr><th>total</th><td>${(r.timing.totalMs / 1000).toFixed(2)} s</td></tr>
</table>
</body></html>
`
}

/**
 * How `bioshard sim` shows a run's progress on stderr: on a terminal, one
 * bar redrawn in place (phase, done/total, elapsed, an estimate of what is
 * left in the phase); elsewhere (a log, CI), plain lines, one when a phase
 * starts, at each tenth of it and at its end, so a log stays short whatever
 * the run's size.
 *
 * @module
 */
import type { Progress } from './sim-runner.ts'

/** Width of the bar in cells. */
const BAR_CELLS = 24
/** Least time between two redraws of the bar, in ms (a redraw per enrolment would flood a slow terminal). */
const REDRAW_MS = 100

/** Receives a run's progress; `end` closes the display (the bar's line). */
export interface ProgressDisplay {
  update: (p: Progress) => void
  end: () => void
}

/** m:ss (or h:mm:ss) of a duration in ms. */
export function clock (ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000))
  const mm = String(Math.floor(s / 60) % 60).padStart(2, '0')
  const ss = String(s % 60).padStart(2, '0')
  return s >= 3600 ? `${Math.floor(s / 3600)}:${mm}:${ss}` : `${Math.floor(s / 60)}:${ss}`
}

/** Whether a character is a C0 or C1 control character (a message holding one could move the cursor). */
const isControl = (c: string): boolean => { const k = c.charCodeAt(0); return k < 0x20 || (k >= 0x7f && k <= 0x9f) }

/** A message from the engine made safe for one terminal line. */
function clean (message: string | undefined): string {
  return message === undefined ? '' : ` ${[...String(message)].map((c) => isControl(c) ? ' ' : c).join('').slice(0, 80)}`
}

/**
 * A progress display writing to `write`.
 *
 * @param out - where text goes, whether it is a terminal, and the clock (ms)
 * @returns the display
 * @example const display = progressDisplay({ write: io.stderr, tty: process.stderr.isTTY, now: Date.now })
 */
export function progressDisplay (out: { write: (text: string) => void, tty: boolean, now: () => number }): ProgressDisplay {
  const started = out.now()
  let phase = ''
  let phaseStart = started
  let lastDraw = -Infinity
  let lastTenth = -1
  let drawn = false
  const update = (p: Progress): void => {
    const now = out.now()
    const total = Math.max(0, p.total)
    const done = Math.min(Math.max(0, p.done), total)
    const changed = p.phase !== phase
    if (changed) {
      phase = p.phase
      phaseStart = now
      lastTenth = -1
    }
    const tenth = total === 0 ? 10 : Math.floor(done * 10 / total)
    if (out.tty) {
      if (!changed && done < total && now - lastDraw < REDRAW_MS) return
      lastDraw = now
      const filled = total === 0 ? BAR_CELLS : Math.round(done / total * BAR_CELLS)
      const bar = '█'.repeat(filled) + '░'.repeat(BAR_CELLS - filled)
      const eta = done > 0 && done < total ? clock((now - phaseStart) / done * (total - done)) : '–'
      out.write(`\r\x1b[2K${phase.padEnd(6)} ${bar} ${done}/${total}  elapsed ${clock(now - started)}  ETA ${eta}${clean(p.message)}`)
      drawn = true
      return
    }
    if (!changed && tenth === lastTenth) return
    lastTenth = tenth
    const pct = total === 0 ? 100 : Math.floor(done * 100 / total)
    out.write(`[${clock(now - started)}] ${phase} ${done}/${total} (${pct} %)${clean(p.message)}\n`)
  }
  const end = (): void => {
    if (drawn) out.write('\n')
    drawn = false
  }
  return { update, end }
}

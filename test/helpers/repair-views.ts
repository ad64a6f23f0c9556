/**
 * The view checker of a repair round (t = 2, one-byte secrets), shared by the
 * in-process test of crypto/repair.ts and the test over real nodes: for every
 * candidate secret it counts the random choices that produce a party's
 * recorded view; a view that says nothing about the secret is produced by
 * equally many choices for every candidate.
 */
import { evalPoly, lagrangeCoefficient, mul } from '../../crypto/gf256.ts'

/**
 * Exhaustive check for t = 2 over one-byte secrets: for every candidate secret
 * S, count the random choices (the sharing's slope a1 and the helpers' masks
 * r1, r2) that produce the recorded view; a view that says nothing about the
 * secret is produced by equally many choices for every S. Helper i keeps
 * c_i ^ r_i and sends r_i to the other, so the sums are c_1 ^ r1 ^ r2 and c_2 ^ r2 ^ r1.
 */
function dealings (xs: number[], newX: number, visit: (s: number, shares: number[], c: number[]) => void): void {
  const lambda = [lagrangeCoefficient(xs, 0, newX), lagrangeCoefficient(xs, 1, newX)]
  for (let s = 0; s < 256; s++) {
    for (let a1 = 0; a1 < 256; a1++) {
      const shares = xs.map((x) => evalPoly(Uint8Array.of(s, a1), x))
      visit(s, shares, shares.map((y, i) => mul(lambda[i], y)))
    }
  }
}

/** Helper `i`'s view: its share and the mask the other helper sent it. */
export function helperCounts (xs: number[], newX: number, view: { i: number, share: number, mask: number }): Uint32Array {
  const counts = new Uint32Array(256)
  dealings(xs, newX, (s, shares) => {
    if (shares[view.i] !== view.share) return
    for (let r1 = 0; r1 < 256; r1++) {
      for (let r2 = 0; r2 < 256; r2++) if ((view.i === 0 ? r2 : r1) === view.mask) counts[s]++
    }
  })
  return counts
}

/** The new holder's view: both masked sums (r2 is then fixed by the first sum, given r1). */
export function newHolderCounts (xs: number[], newX: number, sums: number[]): Uint32Array {
  const counts = new Uint32Array(256)
  dealings(xs, newX, (s, _shares, c) => {
    for (let r1 = 0; r1 < 256; r1++) {
      const r2 = sums[0] ^ c[0] ^ r1
      if ((c[1] ^ r2 ^ r1) === sums[1]) counts[s]++
    }
  })
  return counts
}

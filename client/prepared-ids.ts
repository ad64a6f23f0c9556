/**
 * Template ids handed out before enrolment, so that a subject can sign
 * consent over the id (docs/architecture.md, "Roles and keys": the subject
 * signs consent over a reserved template id; the consent covers `{templateId,
 * tenant, at}`) before the template is stored. An id is fresh: random, issued by this
 * client, used at most once, and only within its lifetime; `enroll` refuses
 * any other caller-supplied id.
 *
 * @module
 */
import { randomBytes, toHex } from '../crypto/bytes.ts'
import { BioshardError } from '../errors.ts'
import { TEMPLATE_ID_BYTES } from '../protocol/constants.ts'
import { setBounded } from '../crypto/bounded-map.ts'

import { PREPARED_ID_TTL_MS, MAX_PREPARED_IDS } from './constants.ts'

export { PREPARED_ID_TTL_MS, MAX_PREPARED_IDS } from './constants.ts'

export class PreparedIds {
  readonly #ids = new Map<string, number>()
  readonly #ttlMs: number

  constructor (ttlMs = PREPARED_ID_TTL_MS) {
    this.#ttlMs = ttlMs
  }

  /** A new random template id, reserved for one enrolment by this client. */
  issue (now = Date.now()): Uint8Array {
    const id = randomBytes(TEMPLATE_ID_BYTES)
    setBounded(this.#ids, toHex(id), now + this.#ttlMs, MAX_PREPARED_IDS)
    return id
  }

  /**
   * Use a prepared id: it must have been issued here, be unused and unexpired.
   *
   * @throws {BioshardError} ERR_BAD_REQUEST otherwise
   */
  take (templateId: Uint8Array, now = Date.now()): void {
    const key = toHex(templateId)
    const until = this.#ids.get(key)
    this.#ids.delete(key)
    if (until === undefined) throw new BioshardError('ERR_BAD_REQUEST', 'templateId was not prepared by this client, or was used already')
    if (now > until) throw new BioshardError('ERR_BAD_REQUEST', 'the prepared templateId has expired; prepare a new one')
  }
}

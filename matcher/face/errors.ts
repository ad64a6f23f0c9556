/**
 * Typed failures of the face pipeline, each a {@link BioshardError} with a
 * stable code. (An unreadable image is the shared `DecodeError`, ERR_DECODE.)
 *
 * @module
 */
import { BioshardError } from '../../errors.ts'
import type { FaceQuality } from './quality.ts'

/** ERR_NO_FACE: the detector found no face above its score threshold. */
export class NoFaceError extends BioshardError {
  constructor (message = 'no face found in the image') {
    super('ERR_NO_FACE', message)
    this.name = 'NoFaceError'
  }
}

/** ERR_LOW_QUALITY: a face was found but is too small or too blurred to match reliably. */
export class LowQualityError extends BioshardError {
  /** The measured quality, so callers can tell the user what to fix. */
  readonly quality: FaceQuality
  readonly floor: number
  constructor (quality: FaceQuality, floor: number) {
    const measured = `face ${quality.faceSize.toFixed(0)} px, sharpness ${quality.sharpness.toFixed(1)}`
    super('ERR_LOW_QUALITY', `face quality ${quality.score.toFixed(3)} is below the floor ${floor} (${measured})`)
    this.name = 'LowQualityError'
    this.quality = quality
    this.floor = floor
  }
}

/** ERR_MODEL: a model file is missing, unreadable, or its inputs/outputs have the wrong shape. */
export class ModelError extends BioshardError {
  constructor (message: string, options?: ErrorOptions) {
    super('ERR_MODEL', message, options)
    this.name = 'ModelError'
  }
}

/**
 * YuNet face detection: the detector's input tensor, the decoding of its
 * per-stride outputs into scored boxes with five landmarks, and greedy
 * non-maximum suppression. Pure functions; the ONNX session lives in
 * `models.ts`.
 *
 * @module
 */
import type { RgbImage } from './decode.ts'

/** One face in source-image pixel coordinates. */
export interface FaceDetection {
  /** √(cls·obj) in [0, 1]. */
  score: number
  /** Top-left corner and size of the face box. */
  box: { x: number, y: number, width: number, height: number }
  /** Five (x, y) points: left eye, right eye, nose, left mouth, right mouth (image-left first). */
  landmarks: Array<[number, number]>
}

/** The detector's raw outputs by name (`cls_8`, `obj_8`, `bbox_8`, `kps_8`, …). */
export type YuNetOutputs = Record<string, Float32Array>

/**
 * Write `img` into the top-left of a `size`×`size` planar BGR float tensor
 * (raw 0–255 values, zero padding), as YuNet expects.
 *
 * @param img - an image no larger than `size` on either side
 * @param size - the detector input side
 * @returns the NCHW data of a `[1, 3, size, size]` tensor
 * @throws {RangeError} when the image does not fit
 * @example const data = detectorInput(small, 640)
 */
export function detectorInput (img: RgbImage, size: number): Float32Array {
  if (img.width > size || img.height > size) throw new RangeError(`img must fit in ${size}×${size}, got ${img.width}×${img.height}`)
  const plane = size * size
  const out = new Float32Array(plane * 3)
  const { width, height, data } = img
  for (let y = 0; y < height; y++) {
    let src = y * width * 3
    let dst = y * size
    for (let x = 0; x < width; x++, src += 3, dst++) {
      out[dst] = data[src + 2] // B
      out[plane + dst] = data[src + 1] // G
      out[2 * plane + dst] = data[src] // R
    }
  }
  return out
}

const clamp01 = (v: number): number => v < 0 ? 0 : v > 1 ? 1 : v

/**
 * Decode YuNet's outputs into candidate faces above `scoreThreshold`, in
 * detector-input pixels (before NMS).
 *
 * As libfacedetection.train and OpenCV FaceDetectorYN do: for stride s the
 * grid is (S/s)×(S/s) cells, cell i at row r = ⌊i / cols⌋, col c = i mod cols,
 * anchor (c·s, r·s); score = √(clamp(cls)·clamp(obj)); box centre =
 * bbox[0..1]·s + anchor, size = exp(bbox[2..3])·s; landmark k = kps[2k..2k+1]·s + anchor.
 *
 * @param outputs - tensors by name for every stride
 * @param opts - input size, strides and score threshold
 * @returns unsorted candidates
 * @throws {RangeError} when an output is missing or has the wrong length
 * @example const cands = decodeYuNet(out, { inputSize: 640, strides: [8, 16, 32], scoreThreshold: 0.6 })
 */
export function decodeYuNet (outputs: YuNetOutputs, opts: { inputSize: number, strides: readonly number[], scoreThreshold: number }): FaceDetection[] {
  const faces: FaceDetection[] = []
  for (const s of opts.strides) {
    const cols = opts.inputSize / s
    const cells = cols * cols
    const cls = outputs[`cls_${s}`]
    const obj = outputs[`obj_${s}`]
    const bbox = outputs[`bbox_${s}`]
    const kps = outputs[`kps_${s}`]
    if (cls?.length !== cells || obj?.length !== cells || bbox?.length !== cells * 4 || kps?.length !== cells * 10) {
      throw new RangeError(`outputs for stride ${s} must hold ${cells} cells`)
    }
    for (let i = 0; i < cells; i++) {
      const score = Math.sqrt(clamp01(cls[i]) * clamp01(obj[i]))
      if (!(score >= opts.scoreThreshold)) continue
      const ax = (i % cols) * s
      const ay = Math.floor(i / cols) * s
      const cx = bbox[i * 4] * s + ax
      const cy = bbox[i * 4 + 1] * s + ay
      const w = Math.exp(bbox[i * 4 + 2]) * s
      const h = Math.exp(bbox[i * 4 + 3]) * s
      const landmarks: Array<[number, number]> = []
      for (let k = 0; k < 5; k++) landmarks.push([kps[i * 10 + 2 * k] * s + ax, kps[i * 10 + 2 * k + 1] * s + ay])
      faces.push({ score, box: { x: cx - w / 2, y: cy - h / 2, width: w, height: h }, landmarks })
    }
  }
  return faces
}

/**
 * Intersection over union of two boxes.
 *
 * @example iou({ x: 0, y: 0, width: 2, height: 2 }, { x: 1, y: 0, width: 2, height: 2 }) // 1/3
 */
export function iou (a: FaceDetection['box'], b: FaceDetection['box']): number {
  const ix = Math.max(0, Math.min(a.x + a.width, b.x + b.width) - Math.max(a.x, b.x))
  const iy = Math.max(0, Math.min(a.y + a.height, b.y + b.height) - Math.max(a.y, b.y))
  const inter = ix * iy
  const union = a.width * a.height + b.width * b.height - inter
  return union > 0 ? inter / union : 0
}

/**
 * Greedy non-maximum suppression: keep the best-scoring face, drop every
 * other face overlapping it by more than `iouThreshold`, repeat.
 *
 * @param faces - candidates (not modified)
 * @param iouThreshold - overlap above which two boxes are one face
 * @param maxFaces - stop after this many kept faces
 * @returns kept faces, most confident first
 * @example nms(decodeYuNet(out, opts), 0.3, 50)
 */
export function nms (faces: readonly FaceDetection[], iouThreshold: number, maxFaces: number): FaceDetection[] {
  const sorted = [...faces].sort((a, b) => b.score - a.score)
  const kept: FaceDetection[] = []
  for (const f of sorted) {
    if (kept.length >= maxFaces) break
    if (kept.every((k) => iou(k.box, f.box) <= iouThreshold)) kept.push(f)
  }
  return kept
}

/**
 * Map a detection from detector-input pixels back to source pixels.
 *
 * @param f - a detection on the (possibly downscaled) detector image
 * @param sx - detector px per source px, horizontally
 * @param sy - detector px per source px, vertically
 * @returns a new detection in source pixels
 * @example toSource(face, 0.5, 0.5)
 */
export function toSource (f: FaceDetection, sx: number, sy: number): FaceDetection {
  return {
    score: f.score,
    box: { x: f.box.x / sx, y: f.box.y / sy, width: f.box.width / sx, height: f.box.height / sy },
    landmarks: f.landmarks.map(([x, y]) => [x / sx, y / sy] as [number, number])
  }
}

/**
 * YuNet output decoding and NMS (matcher/face/detect.ts) on hand-built
 * output tensors, and the letterbox input layout.
 */
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { decodeYuNet, detectorInput, iou, nms, toSource, type FaceDetection, type YuNetOutputs } from '../../matcher/face/detect.ts'

const Detect = suite('face detect')
const SIZE = 64
const STRIDES = [8, 16, 32]

function emptyOutputs (): YuNetOutputs {
  const out: YuNetOutputs = {}
  for (const s of STRIDES) {
    const cells = (SIZE / s) ** 2
    out[`cls_${s}`] = new Float32Array(cells)
    out[`obj_${s}`] = new Float32Array(cells)
    out[`bbox_${s}`] = new Float32Array(cells * 4)
    out[`kps_${s}`] = new Float32Array(cells * 10)
  }
  return out
}

Detect('decodes one cell into a box and five landmarks relative to its anchor', () => {
  const out = emptyOutputs()
  // Stride 16, 4×4 grid: cell 6 is row 1, col 2 → anchor (32, 16).
  out.cls_16[6] = 0.81
  out.obj_16[6] = 1.2 // clamped to 1
  out.bbox_16.set([0.5, 0.25, Math.log(2), Math.log(3)], 6 * 4)
  out.kps_16.set([0, 0, 1, 0, 0.5, 0.5, 0, 1, 1, 1], 6 * 10)
  const faces = decodeYuNet(out, { inputSize: SIZE, strides: STRIDES, scoreThreshold: 0.5 })
  assert.is(faces.length, 1)
  const f = faces[0]
  assert.ok(Math.abs(f.score - 0.9) < 1e-6)
  // centre (0.5·16 + 32, 0.25·16 + 16) = (40, 20); size (32, 48)
  const box = JSON.stringify(f.box)
  assert.ok(Math.abs(f.box.x - 24) < 1e-4, box)
  assert.ok(Math.abs(f.box.y + 4) < 1e-4, box)
  assert.ok(Math.abs(f.box.width - 32) < 1e-4, box)
  assert.ok(Math.abs(f.box.height - 48) < 1e-4, box)
  assert.equal(f.landmarks, [[32, 16], [48, 16], [40, 24], [32, 32], [48, 32]])
})

Detect('drops cells below the score threshold and treats negative scores as zero', () => {
  const out = emptyOutputs()
  out.cls_8[0] = 0.2; out.obj_8[0] = 0.2
  out.cls_8[1] = -1; out.obj_8[1] = 1
  assert.is(decodeYuNet(out, { inputSize: SIZE, strides: STRIDES, scoreThreshold: 0.5 }).length, 0)
})

Detect('rejects outputs of the wrong size', () => {
  const out = emptyOutputs()
  out.kps_32 = new Float32Array(3)
  assert.throws(() => decodeYuNet(out, { inputSize: SIZE, strides: STRIDES, scoreThreshold: 0.5 }), /stride 32/)
})

const face = (score: number, x: number, y: number, w = 10): FaceDetection => ({ score, box: { x, y, width: w, height: w }, landmarks: [] })

Detect('NMS keeps the best of overlapping boxes and every separate face, most confident first', () => {
  const kept = nms([face(0.7, 0, 0), face(0.9, 1, 1), face(0.8, 50, 50), face(0.6, 51, 50)], 0.3, 10)
  assert.equal(kept.map((f) => f.score), [0.9, 0.8])
  assert.is(nms([face(0.9, 0, 0), face(0.8, 50, 50)], 0.3, 1).length, 1)
})

Detect('IoU of half-overlapping squares is 1/3', () => {
  assert.ok(Math.abs(iou({ x: 0, y: 0, width: 2, height: 2 }, { x: 1, y: 0, width: 2, height: 2 }) - 1 / 3) < 1e-12)
})

Detect('the input tensor is planar BGR in the top-left with zero padding', () => {
  const img = { width: 2, height: 1, data: new Uint8Array([10, 20, 30, 40, 50, 60]) }
  const t = detectorInput(img, 4)
  const plane = 16
  assert.equal([t[0], t[plane], t[2 * plane]], [30, 20, 10])
  assert.equal([t[1], t[plane + 1], t[2 * plane + 1]], [60, 50, 40])
  assert.is(t[2] + t[4] + t[plane + 5], 0)
  assert.throws(() => detectorInput({ width: 5, height: 1, data: new Uint8Array(15) }, 4), RangeError)
})

Detect('maps detections back to source pixels', () => {
  const f = toSource({ score: 1, box: { x: 10, y: 20, width: 30, height: 40 }, landmarks: [[10, 20]] }, 0.5, 0.25)
  assert.equal(f.box, { x: 20, y: 80, width: 60, height: 160 })
  assert.equal(f.landmarks, [[20, 80]])
})

Detect.run()

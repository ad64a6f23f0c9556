/**
 * Voice configuration: defaults, and field-by-field validation that names
 * the offending field.
 */
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { DEFAULT_FBANK, resolveFbankOptions, resolveVoiceConfig } from '../../matcher/voice/config.ts'

const Config = suite('voice config')

Config('fills Kaldi fbank defaults, btf layout, 1–60 s and featureDim from numMelBins', () => {
  const c = resolveVoiceConfig({ model: { path: '/m.onnx', id: 'ecapa-v1' } })
  assert.equal(c.fbank, { numMelBins: 80, lowFreq: 20, highFreq: 0, waveformScale: 32768, subtractMean: true, windowType: 'povey' })
  assert.equal(c.fbank, { ...DEFAULT_FBANK })
  assert.equal(c.model, {
    path: '/m.onnx',
    id: 'ecapa-v1',
    inputName: undefined,
    outputName: undefined,
    layout: 'btf',
    featureDim: 80,
    outputDim: undefined,
    intraOpThreads: 1
  })
  assert.is(c.minSeconds, 1)
  assert.is(c.maxSeconds, 60)
  assert.is(resolveVoiceConfig({ model: { path: '/m.onnx', id: 'x' }, fbank: { numMelBins: 64 } }).model.featureDim, 64)
})

Config('refuses invalid fields, naming them', () => {
  const model = { path: '/m.onnx', id: 'm' }
  const cases: Array<[unknown, new (...a: never[]) => Error, RegExp]> = [
    [{ model: { path: '/m.onnx' } }, TypeError, /model\.id/],
    [{ model: { ...model, layout: 'tbf' } }, TypeError, /model\.layout/],
    [{ model: { ...model, outputDim: 5000 } }, RangeError, /model\.outputDim/],
    [{ model: { ...model, inputname: 'x' } }, TypeError, /model\.inputname is not a known option/],
    [{ model, fbank: { numMelBins: 80.5 } }, TypeError, /fbank\.numMelBins/],
    [{ model, fbank: { lowFreq: 4000, highFreq: 3000 } }, RangeError, /fbank\.lowFreq/],
    [{ model, fbank: { subtractMean: 'yes' } }, TypeError, /fbank\.subtractMean/],
    [{ model, fbank: { dither: 1 } }, TypeError, /fbank\.dither is not a known option/],
    [{ model, fbank: { windowType: 'hann' } }, TypeError, /fbank\.windowType/],
    [{ model: { ...model, featureDim: 80 }, fbank: { numMelBins: 64 } }, RangeError, /featureDim/],
    [{ model, maxSeconds: 5000 }, RangeError, /maxSeconds/],
    [{ model, minSeconds: 10, maxSeconds: 5 }, RangeError, /minSeconds/],
    [{ model, minSeconds: 0.01 }, RangeError, /minSeconds/],
    [null, TypeError, /config/]
  ]
  for (const [init, type, message] of cases) {
    try {
      resolveVoiceConfig(init as never)
      assert.unreachable(JSON.stringify(init))
    } catch (e) {
      assert.instance(e, type, `${JSON.stringify(init)}: ${String(e)}`)
      assert.match((e as Error).message, message)
    }
  }
})

Config('resolves highFreq <= 0 as an offset from Nyquist', () => {
  assert.not.throws(() => resolveFbankOptions({ lowFreq: 7000, highFreq: -500 }))
  assert.throws(() => resolveFbankOptions({ lowFreq: 7600, highFreq: -500 }), RangeError)
})

Config.run()

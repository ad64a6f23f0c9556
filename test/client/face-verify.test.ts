/**
 * Raw photos end to end on real nodes: enrol a photo, verify other photos
 * as raw samples embedded inside the enclave (the sample and its embedding
 * never leave it). Needs the shared face models and photos; skips with a
 * printed message without them.
 */
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { readFileSync } from 'node:fs'
import { requireShared, sharedPath } from '../../matcher/shared-path.ts'

const Face = suite('raw face samples through the network and the enclave')
const PHOTOS = ['data/faces/raw/amy', 'data/faces/raw/bernadette', 'models/face-embed-mobilefacenet.onnx', 'models/face-detect-yunet.onnx']

if (!requireShared('raw face verify', PHOTOS)) {
  Face.skip('a genuine photo is accepted and an impostor photo rejected')
} else {
  const { LocalNetwork } = await import('../../sim/local-network.ts')
  const { createClient } = await import('../../client/client.ts')
  const { verifyDecision } = await import('../../protocol/decision.ts')
  const photo = (who: string, n: number): Uint8Array => new Uint8Array(readFileSync(sharedPath('data', 'faces', 'raw', who, `${who}${n}.png`)))
  const net = await LocalNetwork.start({ nodes: 5 })
  await net.converged()
  const tenant = net.tenant('acme')
  const client = await createClient({
    bootstrap: net.bootstrap,
    authority: net.info,
    credentials: { tenant: { key: tenant.key, cert: tenant.wire } },
    enclave: { faceModel: { modelDir: sharedPath('models') } }
  })

  Face('a genuine photo is accepted and an impostor photo rejected, with enclave-signed decisions', async () => {
    const r = await client.enroll({ template: { image: photo('amy', 1) }, modality: 'face' })
    assert.is(r.manifest.body.model, 'mobilefacenet-foamliu-a6cc9032')
    assert.is(r.manifest.body.policy.threshold, 403_000, 'the calibrated threshold is the default policy')
    const genuine = await client.verify({ templateId: r.templateId, probe: { image: photo('amy', 2) }, purpose: 'login' })
    assert.ok(genuine.accept, `genuine score ${genuine.score}`)
    assert.is(verifyDecision(genuine.decision, genuine.signer).accept, true)
    const impostor = await client.verify({ templateId: r.templateId, probe: { image: photo('bernadette', 1) }, purpose: 'login' })
    assert.not.ok(impostor.accept, `impostor score ${impostor.score}`)
  })

  Face.after(async () => {
    await client.close()
    await net.stop()
  })
}

Face.run()

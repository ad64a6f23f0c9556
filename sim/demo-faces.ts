/**
 * Demo identities from real faces: when the shared face models and photos
 * are present, each demo identity enrols one photo's embedding and is probed
 * with another photo of the same person (as a raw image, embedded inside the
 * enclave when it can run the face model). Returns undefined when the shared
 * data is absent, so the demo falls back to synthetic embeddings.
 *
 * @module
 */
import { readdirSync, readFileSync, existsSync } from 'node:fs'
import { join } from 'node:path'
import { sharedDir } from '../matcher/shared-path.ts'
import { FaceMatcher } from '../matcher/face/pipeline.ts'

/** Where the face models are, when the demo uses real faces (the enclave loads them to embed probes). */
export function demoModelDir (env: NodeJS.ProcessEnv): string {
  return join(sharedDir(env), 'models')
}

export interface DemoIdentity {
  name: string
  model: string
  enrol: Float32Array
  probe: Float32Array | { image: Uint8Array }
}

/** Up to `k` real-face identities, or undefined when the shared data is missing or `synthetic` is set. */
export async function demoFaces (k: number, synthetic: boolean, env: NodeJS.ProcessEnv, progress: (m: string) => void): Promise<DemoIdentity[] | undefined> {
  if (synthetic) return undefined
  const shared = sharedDir(env)
  const raw = join(shared, 'data', 'faces', 'raw')
  if (!existsSync(join(shared, 'models', 'face-embed-mobilefacenet.onnx')) || !existsSync(raw)) {
    progress(`(no shared face models at ${shared}: using synthetic embeddings)`)
    return undefined
  }
  const matcher = await FaceMatcher.create({ modelDir: join(shared, 'models') })
  try {
    const out: DemoIdentity[] = []
    for (const name of readdirSync(raw).sort().slice(0, k)) {
      const photos = readdirSync(join(raw, name)).sort()
      if (photos.length < 2) continue
      const enrol = await matcher.embed(new Uint8Array(readFileSync(join(raw, name, photos[0]))))
      out.push({ name, model: matcher.modelId, enrol: enrol.embedding, probe: { image: new Uint8Array(readFileSync(join(raw, name, photos[1]))) } })
    }
    progress(`real faces: ${out.length} identities from ${raw}`)
    return out
  } finally {
    await matcher.close()
  }
}

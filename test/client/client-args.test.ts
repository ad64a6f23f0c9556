/**
 * createClient refuses malformed options before touching the network, with
 * errors that name the option.
 */
import { suite } from 'uvu'
import { createClient } from '../../client/client.ts'
import { expectArgErrorAsync } from '../helpers/assert.ts'

const Args = suite('createClient arguments')
const authority = { network: 'bsn-0000000000000000', publicKey: new Uint8Array(32) }
/** A bootstrap address nothing listens on: argument checks must refuse before any dial. */
const UNREACHABLE = '/ip4/127.0.0.1/tcp/1'

Args('an empty bootstrap list, a bad authority key and bad timeouts are refused by name', async () => {
  await expectArgErrorAsync(async () => await createClient({ bootstrap: [], authority, credentials: {} }), TypeError, 'bootstrap')
  const shortKey = { ...authority, publicKey: new Uint8Array(3) }
  await expectArgErrorAsync(
    async () => await createClient({ bootstrap: [UNREACHABLE], authority: shortKey, credentials: {} }),
    RangeError,
    'authority.publicKey'
  )
  await expectArgErrorAsync(
    async () => await createClient({ bootstrap: [UNREACHABLE], authority, credentials: {}, timeouts: { requestMs: -1 } }),
    RangeError,
    'timeouts.requestMs'
  )
  await expectArgErrorAsync(
    async () => await createClient({ bootstrap: [UNREACHABLE], authority, credentials: {}, timeouts: { nope: 5 } as never }),
    TypeError,
    'timeouts.nope'
  )
})

Args.run()

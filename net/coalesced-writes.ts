/**
 * One socket write per encrypted message.
 *
 * Noise hands each encrypted message to the TCP connection as two buffers (a
 * 2-byte length and the ciphertext), and the TCP transport writes each with
 * its own `socket.write`: two system calls and two reader wake-ups per yamux
 * frame. Joining the buffers first changes nothing on the wire and halves both
 * (measured gains: docs/performance.md).
 *
 * @module
 */
import type { ConnectionEncrypter, MessageStream } from '@libp2p/interface'

/** Make `connection` pass each send to its transport as one buffer. */
function coalesce (connection: MessageStream): MessageStream {
  const send = connection.send.bind(connection)
  connection.send = (data: Parameters<MessageStream['send']>[0]): boolean => send(data instanceof Uint8Array ? data : data.subarray())
  return connection
}

/**
 * Wrap a connection encrypter factory (e.g. `noise()`) so that every message
 * it sends reaches the transport as one buffer. There is no transport option
 * for this, so the wrapper sits where libp2p allows one: around the connection
 * encrypter, which receives the raw connection before anything is written to
 * it (the handshake included).
 *
 * @param factory - the encrypter factory libp2p would otherwise be given
 * @returns a factory for the same encrypter, writing coalesced
 * @example connectionEncrypters: [coalescedWrites(noise())]
 */
export function coalescedWrites<C> (factory: (components: C) => ConnectionEncrypter): (components: C) => ConnectionEncrypter {
  return (components: C) => {
    const inner = factory(components)
    // Everything but the two entry points (protocol id, capabilities) is read from the encrypter itself.
    const outer = Object.create(inner) as ConnectionEncrypter
    outer.secureOutbound = async (connection, options) => await inner.secureOutbound(coalesce(connection), options)
    outer.secureInbound = async (connection, options) => await inner.secureInbound(coalesce(connection), options)
    return outer
  }
}

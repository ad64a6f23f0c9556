import { encodeCanonical } from '../../crypto/canonical.ts'
import { split } from 'shamir-secret-sharing'
console.log(encodeCanonical({a:1}).length, typeof split)
console.log('fs.write', process.permission.has('fs.write'), 'child', process.permission.has('child'), 'worker', process.permission.has('worker'), 'addon', process.permission.has('addon'), 'read /', process.permission.has('fs.read', '/'), 'wasi', process.permission.has('wasi'), 'inspector', process.permission.has('inspector'))
import { readFileSync } from 'node:fs'
try { readFileSync(process.execPath); console.log('read execPath OK') } catch (e) { console.log('read execPath', e.code) }

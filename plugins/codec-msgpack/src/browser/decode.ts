/**
 * A strict MessagePack decoder for untrusted bytes (the browser codec's half; see encode.ts for
 * why not a library). Every length is checked against the bytes left before anything is read or
 * allocated; what MessagePack does not define (0xc1), extension types, map keys that are
 * containers or binary, and bytes after the value are errors. It throws; the codec turns every
 * throw into E_CODEC. Binary values are views of the message, not copies. The codec runs the scan
 * (scan.ts) first, which also bounds the depth; these checks stay as a second line.
 */

const utf8 = new TextDecoder()

export class Decoder {
  #bytes: Uint8Array = new Uint8Array(0)
  #view: DataView = new DataView(this.#bytes.buffer)
  #pos = 0

  constructor(private readonly bigint = false) {}

  decode(bytes: Uint8Array): unknown {
    this.#bytes = bytes
    this.#view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
    this.#pos = 0
    if (bytes.byteLength === 0) throw new Error('no bytes')
    const value = this.#read()
    if (this.#pos !== bytes.byteLength) throw new Error(`${bytes.byteLength - this.#pos} bytes after the value`)
    return value
  }

  /** Position of `n` more bytes, which must be there. */
  #take(n: number): number {
    const at = this.#pos
    if (at + n > this.#bytes.byteLength) throw new Error(`unexpected end of data (needed ${n} bytes at ${at})`)
    this.#pos = at + n
    return at
  }

  #u8(): number {
    return this.#bytes[this.#take(1)]!
  }

  #u16(): number {
    return this.#view.getUint16(this.#take(2))
  }

  #u32(): number {
    return this.#view.getUint32(this.#take(4))
  }

  #read(): unknown {
    const type = this.#u8()
    if (type < 0x80) return type
    if (type < 0x90) return this.#map(type & 0x0f)
    if (type < 0xa0) return this.#array(type & 0x0f)
    if (type < 0xc0) return this.#string(type & 0x1f)
    if (type >= 0xe0) return type - 0x100
    const view = this.#view
    switch (type) {
      case 0xc0:
        return null
      case 0xc2:
        return false
      case 0xc3:
        return true
      case 0xc4:
        return this.#binary(this.#u8())
      case 0xc5:
        return this.#binary(this.#u16())
      case 0xc6:
        return this.#binary(this.#u32())
      case 0xca:
        return view.getFloat32(this.#take(4))
      case 0xcb:
        return view.getFloat64(this.#take(8))
      case 0xcc:
        return this.#u8()
      case 0xcd:
        return this.#u16()
      case 0xce:
        return this.#u32()
      case 0xcf: {
        const at = this.#take(8)
        return this.bigint ? view.getBigUint64(at) : view.getUint32(at) * 0x100000000 + view.getUint32(at + 4)
      }
      case 0xd0:
        return view.getInt8(this.#take(1))
      case 0xd1:
        return view.getInt16(this.#take(2))
      case 0xd2:
        return view.getInt32(this.#take(4))
      case 0xd3: {
        const at = this.#take(8)
        return this.bigint ? view.getBigInt64(at) : view.getInt32(at) * 0x100000000 + view.getUint32(at + 4)
      }
      case 0xd9:
        return this.#string(this.#u8())
      case 0xda:
        return this.#string(this.#u16())
      case 0xdb:
        return this.#string(this.#u32())
      case 0xdc:
        return this.#array(this.#u16())
      case 0xdd:
        return this.#array(this.#u32())
      case 0xde:
        return this.#map(this.#u16())
      case 0xdf:
        return this.#map(this.#u32())
      default:
        // 0xc1, and the extensions 0xc7–0xc9, 0xd4–0xd8: not plain MessagePack
        throw new Error(`byte 0x${type.toString(16)} is not plain MessagePack`)
    }
  }

  #string(length: number): string {
    const at = this.#take(length)
    return utf8.decode(this.#bytes.subarray(at, at + length))
  }

  #binary(length: number): Uint8Array {
    const at = this.#take(length)
    return this.#bytes.subarray(at, at + length)
  }

  /** Each element takes at least one byte: a count beyond the bytes left is a lie, refused before allocating. */
  #count(count: number, bytesEach: number): void {
    if (count * bytesEach > this.#bytes.byteLength - this.#pos) throw new Error(`a container of ${count} elements in ${this.#bytes.byteLength - this.#pos} bytes`)
  }

  #array(count: number): unknown[] {
    this.#count(count, 1)
    const out = new Array<unknown>(count)
    for (let i = 0; i < count; i++) out[i] = this.#read()
    return out
  }

  #map(count: number): Record<string, unknown> {
    this.#count(count, 2)
    const out: Record<string, unknown> = {}
    for (let i = 0; i < count; i++) {
      const read = this.#read()
      // As msgpackr: scalar keys become their text (the scan refused the others); a key that
      // would set the prototype is renamed.
      if (typeof read === 'object' && read !== null) throw new Error('map keys must be strings, numbers, booleans or nil')
      const key = String(read)
      out[key === '__proto__' ? '__proto_' : key] = this.#read()
    }
    return out
  }
}

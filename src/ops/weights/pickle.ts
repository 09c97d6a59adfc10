/**
 * A restricted unpickler for PyTorch weight files: a subset of Python's pickle virtual machine
 * (protocols 2 to 5, the opcodes `torch.save` emits) that builds plain values and never runs
 * code. Python's own unpickler calls whatever global a pickle names (`os.system` included); this
 * one resolves a global only if it is on a short allow-list (tensor rebuilds, storage types,
 * `collections.OrderedDict`) and fails on anything else, naming the global.
 *
 * Why our own: the npm unpicklers found either execute nothing and lose tensors, or map globals
 * through an open registry; what we need is a closed list and errors that say what was refused.
 *
 * Values: dicts become `Map`s (insertion-ordered like OrderedDict), lists and tuples arrays,
 * integers numbers (or bigints beyond 2^53), tensors `TensorRef`s pointing into storages that
 * the container format (zip or legacy stream) resolves by key.
 */

/** Element types of torch storages, by the storage class name that pickles carry. */
export const STORAGE_DTYPES = {
  FloatStorage: "float32",
  DoubleStorage: "float64",
  HalfStorage: "float16",
  BFloat16Storage: "bfloat16",
  LongStorage: "int64",
  IntStorage: "int32",
  ShortStorage: "int16",
  CharStorage: "int8",
  ByteStorage: "uint8",
  BoolStorage: "bool"
} as const
export type TorchDtype = (typeof STORAGE_DTYPES)[keyof typeof STORAGE_DTYPES]

/** A storage named by a persistent id: `archive/data/<key>` in the zip format. */
export interface StorageRef {
  readonly _kind: "storage"
  readonly key: string
  readonly dtype: TorchDtype
  /** Elements, as the persistent id says. */
  readonly numel: number
}

/** A tensor view into a storage (torch._utils._rebuild_tensor_v2's arguments). */
export interface TensorRef {
  readonly _kind: "tensor"
  readonly storage: StorageRef
  readonly offset: number
  readonly shape: ReadonlyArray<number>
  readonly stride: ReadonlyArray<number>
}

/** A failure to read the pickle: the reason, and the global when one was refused. */
export class PickleFault extends Error {
  constructor(
    readonly reason: string,
    readonly global?: string
  ) {
    super(reason)
  }
}

interface Global {
  readonly _kind: "global"
  readonly name: string
  /** What REDUCE does with it; absent for globals that are only markers (storage types). */
  readonly call?: (args: ReadonlyArray<unknown>) => unknown
  readonly dtype?: TorchDtype
}

/** Python's OrderedDict carries attributes (`_metadata` on state dicts); we keep the items only. */
const orderedDict: Global = { _kind: "global", name: "collections.OrderedDict", call: () => new Map() }

const int = (u: unknown, what: string): number => {
  if (typeof u === "number" && Number.isInteger(u)) return u
  throw new PickleFault(`${what} is not an integer`)
}
const ints = (u: unknown, what: string): number[] => {
  if (!Array.isArray(u)) throw new PickleFault(`${what} is not a tuple`)
  return u.map((x) => int(x, what))
}
const storageOf = (u: unknown): StorageRef => {
  if (typeof u === "object" && u !== null && (u as StorageRef)._kind === "storage") return u as StorageRef
  throw new PickleFault("a tensor rebuild received something other than a storage")
}

/** rebuild(storage, storage_offset, size, stride, ...): the rest (requires_grad, hooks) is training state we drop. */
const rebuildTensor = (args: ReadonlyArray<unknown>): TensorRef => ({
  _kind: "tensor",
  storage: storageOf(args[0]),
  offset: int(args[1], "storage offset"),
  shape: ints(args[2], "tensor size"),
  stride: ints(args[3], "tensor stride")
})

const rebuildParameter = (args: ReadonlyArray<unknown>): unknown => {
  const t = args[0] as TensorRef | undefined
  if (t?._kind !== "tensor") throw new PickleFault("torch._utils._rebuild_parameter received something other than a tensor")
  return t
}

const ALLOWED: ReadonlyMap<string, Global> = new Map<string, Global>([
  ["collections.OrderedDict", orderedDict],
  ["torch._utils._rebuild_tensor_v2", { _kind: "global", name: "torch._utils._rebuild_tensor_v2", call: rebuildTensor }],
  ["torch._utils._rebuild_tensor", { _kind: "global", name: "torch._utils._rebuild_tensor", call: rebuildTensor }],
  ["torch._utils._rebuild_parameter", { _kind: "global", name: "torch._utils._rebuild_parameter", call: rebuildParameter }],
  ...Object.entries(STORAGE_DTYPES).map(([cls, dtype]) => [`torch.${cls}`, { _kind: "global", name: `torch.${cls}`, dtype }] as [string, Global])
])

const MARK = Symbol("mark")

/**
 * Runs one pickle from `bytes[start]` to its STOP opcode. Returns the value and where the pickle
 * ended (the legacy torch format puts several pickles back to back). Throws PickleFault.
 */
export const unpickle = (bytes: Uint8Array, start = 0): { readonly value: unknown; readonly end: number } => {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  const utf8 = new TextDecoder("utf-8", { fatal: true })
  let pos = start
  const stack: unknown[] = []
  const memo = new Map<number, unknown>()
  const need = (n: number): number => {
    if (pos + n > bytes.length) throw new PickleFault(`the pickle ends early (byte ${bytes.length}, needed ${pos + n}): truncated`)
    const at = pos
    pos += n
    return at
  }
  const u8 = () => bytes[need(1)]!
  const u16 = () => dv.getUint16(need(2), true)
  const u32 = () => dv.getUint32(need(4), true)
  const u64 = () => {
    const v = dv.getBigUint64(need(8), true)
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new PickleFault("a length field is larger than 2^53")
    return Number(v)
  }
  const take = (n: number) => bytes.subarray(need(n), pos)
  const line = () => {
    const end = bytes.indexOf(0x0a, pos)
    if (end < 0) throw new PickleFault("the pickle ends inside a GLOBAL name: truncated")
    const s = new TextDecoder().decode(bytes.subarray(pos, end))
    pos = end + 1
    return s
  }
  const pop = () => {
    if (stack.length === 0) throw new PickleFault("stack underflow: not a pickle, or damaged")
    return stack.pop()
  }
  const top = () => {
    if (stack.length === 0) throw new PickleFault("stack underflow: not a pickle, or damaged")
    return stack[stack.length - 1]
  }
  const popMark = (): unknown[] => {
    const i = stack.lastIndexOf(MARK)
    if (i < 0) throw new PickleFault("no MARK on the stack: damaged pickle")
    const items = stack.splice(i)
    items.shift()
    return items
  }
  const resolve = (module: string, name: string): Global => {
    const full = `${module}.${name}`
    const g = ALLOWED.get(full)
    if (!g) throw new PickleFault(`the pickle asks for the Python global ${full}, which rstn refuses to load`, full)
    return g
  }
  const setItems = (target: unknown, items: unknown[]) => {
    if (!(target instanceof Map)) throw new PickleFault("SETITEM(S) on something that is not a dict")
    for (let i = 0; i + 1 < items.length; i += 2) target.set(key(items[i]), items[i + 1])
  }
  const key = (k: unknown): unknown => (Array.isArray(k) ? JSON.stringify(k) : k)
  const longFrom = (b: Uint8Array): number | bigint => {
    if (b.length === 0) return 0
    let v = 0n
    for (let i = b.length - 1; i >= 0; i--) v = (v << 8n) | BigInt(b[i]!)
    if (b[b.length - 1]! & 0x80) v -= 1n << BigInt(8 * b.length)
    return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v
  }
  for (;;) {
    const at = pos
    const op = u8()
    switch (op) {
      case 0x80: // PROTO
        u8()
        break
      case 0x95: // FRAME: a length hint only
        u64()
        break
      case 0x2e: // STOP
        return { value: pop(), end: pos }
      case 0x28: // MARK
        stack.push(MARK)
        break
      case 0x7d: // EMPTY_DICT
        stack.push(new Map())
        break
      case 0x5d: // EMPTY_LIST
        stack.push([])
        break
      case 0x29: // EMPTY_TUPLE
        stack.push([])
        break
      case 0x74: // TUPLE
      case 0x6c: // LIST
        stack.push(popMark())
        break
      case 0x64: {
        // DICT
        const m = new Map()
        setItems(m, popMark())
        stack.push(m)
        break
      }
      case 0x85: // TUPLE1
        stack.push([pop()])
        break
      case 0x86: {
        // TUPLE2
        const b = pop()
        stack.push([pop(), b])
        break
      }
      case 0x87: {
        // TUPLE3
        const c = pop()
        const b = pop()
        stack.push([pop(), b, c])
        break
      }
      case 0x58: // BINUNICODE
      case 0x8c: // SHORT_BINUNICODE
      case 0x8d: {
        // BINUNICODE8
        const n = op === 0x58 ? u32() : op === 0x8c ? u8() : u64()
        try {
          stack.push(utf8.decode(take(n)))
        } catch (e) {
          if (e instanceof PickleFault) throw e
          throw new PickleFault(`invalid UTF-8 in a string at byte ${at}`)
        }
        break
      }
      case 0x55: // SHORT_BINSTRING (Python 2 str)
        stack.push(new TextDecoder("latin1").decode(take(u8())))
        break
      case 0x54: // BINSTRING
        stack.push(new TextDecoder("latin1").decode(take(u32())))
        break
      case 0x43: // SHORT_BINBYTES
        stack.push(take(u8()).slice())
        break
      case 0x42: // BINBYTES
        stack.push(take(u32()).slice())
        break
      case 0x4a: // BININT
        stack.push(dv.getInt32(need(4), true))
        break
      case 0x4b: // BININT1
        stack.push(u8())
        break
      case 0x4d: // BININT2
        stack.push(u16())
        break
      case 0x8a: // LONG1
        stack.push(longFrom(take(u8())))
        break
      case 0x8b: // LONG4
        stack.push(longFrom(take(u32())))
        break
      case 0x47: // BINFLOAT (big-endian)
        stack.push(dv.getFloat64(need(8), false))
        break
      case 0x4e: // NONE
        stack.push(null)
        break
      case 0x88: // NEWTRUE
        stack.push(true)
        break
      case 0x89: // NEWFALSE
        stack.push(false)
        break
      case 0x63: {
        // GLOBAL "module\nname\n"
        const module = line()
        stack.push(resolve(module, line()))
        break
      }
      case 0x93: {
        // STACK_GLOBAL
        const name = pop()
        const module = pop()
        if (typeof module !== "string" || typeof name !== "string") throw new PickleFault("STACK_GLOBAL without a module and a name")
        stack.push(resolve(module, name))
        break
      }
      case 0x51: // BINPERSID
        stack.push(persistent(pop()))
        break
      case 0x52: {
        // REDUCE
        const args = pop()
        const f = pop() as Global
        if (f?._kind !== "global" || !f.call) throw new PickleFault(`REDUCE on ${f?._kind === "global" ? f.name : "a value"}, which is not a function rstn knows`)
        if (!Array.isArray(args)) throw new PickleFault(`REDUCE on ${f.name} without an argument tuple`)
        stack.push(f.call(args))
        break
      }
      case 0x62: {
        // BUILD: state for an object; the only objects we build are OrderedDicts (their
        // `_metadata` attribute is version bookkeeping we do not need)
        pop()
        if (!(top() instanceof Map)) throw new PickleFault("BUILD on an object rstn does not know")
        break
      }
      case 0x71: // BINPUT
        memo.set(u8(), top())
        break
      case 0x72: // LONG_BINPUT
        memo.set(u32(), top())
        break
      case 0x94: // MEMOIZE
        memo.set(memo.size, top())
        break
      case 0x68: // BINGET
      case 0x6a: {
        // LONG_BINGET
        const i = op === 0x68 ? u8() : u32()
        if (!memo.has(i)) throw new PickleFault(`memo entry ${i} read before it was written: damaged pickle`)
        stack.push(memo.get(i))
        break
      }
      case 0x73: {
        // SETITEM
        const v = pop()
        const k = pop()
        setItems(top(), [k, v])
        break
      }
      case 0x75: {
        // SETITEMS
        const items = popMark()
        setItems(top(), items)
        break
      }
      case 0x61: {
        // APPEND
        const v = pop()
        const l = top()
        if (!Array.isArray(l)) throw new PickleFault("APPEND on something that is not a list")
        l.push(v)
        break
      }
      case 0x65: {
        // APPENDS
        const items = popMark()
        const l = top()
        if (!Array.isArray(l)) throw new PickleFault("APPENDS on something that is not a list")
        l.push(...items)
        break
      }
      default:
        throw new PickleFault(`opcode 0x${op.toString(16).padStart(2, "0")} at byte ${at} is outside what rstn reads (it builds only tensors, dicts, lists and numbers)`)
    }
  }
}

/**
 * The persistent id torch.save writes for a storage: ('storage', storage_type, key, location,
 * numel), plus a view description in the legacy format that we do not need.
 */
const persistent = (pid: unknown): StorageRef => {
  if (!Array.isArray(pid) || pid[0] !== "storage" || pid.length < 5) throw new PickleFault("a persistent id that is not a torch storage")
  const type = pid[1] as Global
  if (type?._kind !== "global" || !type.dtype) throw new PickleFault("a storage of a type rstn does not know")
  const key = pid[2]
  if (typeof key !== "string") throw new PickleFault("a storage key that is not a string")
  return { _kind: "storage", key, dtype: type.dtype, numel: int(pid[4], "storage size") }
}

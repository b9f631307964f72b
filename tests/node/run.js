// Runs EVM programs in @ethereumjs/evm (Cancun) for frugal's differential
// tests. Input: JSON lines {"code","data","gas","value"} (hex strings, decimal
// numbers). Output: one JSON line per program:
//   {"status":"success|revert|error","gasUsed":"N","refund":"N","out":"hex",
//    "storage":{"<addr>":{"<key>":"<value>"}},"logs":[{"addr","topics","data"}]}
// The state and block context match tests/test_evm_diff.c.
import { createEVM } from '@ethereumjs/evm'
import { Common, Hardfork, Mainnet } from '@ethereumjs/common'
import { Account, Address, bytesToHex, hexToBytes, setLengthLeft, bytesToBigInt } from '@ethereumjs/util'
import { createInterface } from 'node:readline'

const addr = (b) => new Address(setLengthLeft(new Uint8Array([b]), 20))
const SELF = addr(0xaa), OTHER = addr(0xbb), CALLER = addr(0xcc), COINBASE = addr(0xc0)
export const OTHER_CODE = '0x6000356001553360005260206000f3'
const hexq = (v) => '0x' + v.toString(16)

function block() {
  return {
    header: {
      number: 100n, coinbase: COINBASE, timestamp: 1000n, difficulty: 0n,
      prevRandao: setLengthLeft(new Uint8Array([0x42]), 32), gasLimit: 30000000n,
      baseFeePerGas: 7n, getBlobGasPrice: () => 1n,
    },
  }
}

const FORKS = {
  frontier: Hardfork.Chainstart, homestead: Hardfork.Homestead,
  tangerine: Hardfork.TangerineWhistle, spurious: Hardfork.SpuriousDragon,
  byzantium: Hardfork.Byzantium, constantinople: Hardfork.Petersburg,
  istanbul: Hardfork.Istanbul, berlin: Hardfork.Berlin, london: Hardfork.London,
  shanghai: Hardfork.Shanghai, cancun: Hardfork.Cancun,
}

export async function runOne(p) {
  // 0x0a needs a KZG library and the trusted setup, which are not installed:
  // this stub rejects every proof (the generated inputs hold no valid one)
  const kzg = { verifyProof: () => false }
  const common = new Common({ chain: Mainnet, hardfork: FORKS[p.fork ?? 'cancun'], customCrypto: { kzg } })
  const evm = await createEVM({ common })
  const sm = evm.stateManager
  await sm.putAccount(CALLER, new Account(0n, 10n ** 18n))
  await sm.putAccount(SELF, new Account(0n, 1000000n))
  await sm.putCode(SELF, hexToBytes(p.code === '' ? '0x' : '0x' + p.code))
  await sm.putAccount(OTHER, new Account(0n, 0n))
  await sm.putCode(OTHER, hexToBytes(OTHER_CODE))
  // as a transaction would: origin, recipient, coinbase and precompiles warm
  if (common.isActivatedEIP(2929)) {
    const warm = [CALLER, SELF]
    if (common.isActivatedEIP(3651)) warm.push(COINBASE)
    for (const a of warm) evm.journal.addAlwaysWarmAddress(a.toString(), true)
    const npre = common.isActivatedEIP(4844) ? 10 : 9
    for (let i = 1; i <= npre; i++) evm.journal.addAlwaysWarmAddress(addr(i).toString(), true)
  }
  const keys = new Map()
  evm.events.on('step', (s) => {
    if (s.opcode.name === 'SSTORE') {
      const a = s.address.toString()
      if (!keys.has(a)) keys.set(a, new Set())
      keys.get(a).add(s.stack[s.stack.length - 1])
    }
  })
  const r = await evm.runCall({
    to: SELF, caller: CALLER, origin: CALLER, gasLimit: BigInt(p.gas), value: BigInt(p.value ?? 0),
    data: hexToBytes('0x' + (p.data ?? '')), gasPrice: 10n, block: block(),
  })
  const e = r.execResult
  const status = e.exceptionError === undefined ? 'success'
    : e.exceptionError.error === 'revert' ? 'revert' : 'error'
  const storage = {}
  for (const [a, ks] of keys) {
    const A = Address.fromString ? Address.fromString(a) : new Address(hexToBytes(a))
    for (const k of ks) {
      const v = bytesToBigInt(await sm.getStorage(A, setLengthLeft(hexToBytes(hexq(k).length % 2 ? '0x0' + k.toString(16) : hexq(k)), 32)))
      if (v !== 0n) {
        storage[a] ??= {}
        storage[a][hexq(k)] = hexq(v)
      }
    }
  }
  const logs = (e.logs ?? []).map(([a, topics, data]) => ({
    addr: bytesToHex(a), topics: topics.map((t) => hexq(bytesToBigInt(t))), data: bytesToHex(data),
  }))
  return {
    status, gasUsed: e.executionGasUsed.toString(), refund: (e.gasRefund ?? 0n).toString(),
    out: bytesToHex(e.returnValue).slice(2), storage, logs,
    error: e.exceptionError?.error,
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const rl = createInterface({ input: process.stdin, crlfDelay: Infinity })
  for await (const line of rl) {
    if (!line.trim()) continue
    let out
    try {
      out = await runOne(JSON.parse(line))
    } catch (err) {
      out = { status: 'crash', error: String(err) }
    }
    process.stdout.write(JSON.stringify(out) + '\n')
  }
}

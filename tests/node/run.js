// Runs EVM programs in @ethereumjs/evm for frugal's differential tests
// (tests/test_evm_diff.c, which owns the world: this file only builds it).
// Input: JSON lines
//   {"code","data","gas","value","fork","depth",
//    "accounts":[{"addr","balance","nonce","code"}],   the state before the call
//    "watch":["<addr>"]}                                 accounts to report after it
// (hex strings without 0x for code and data, 0x addresses and balances,
// decimal numbers). The program is the code of 0x..aa, called by its origin
// 0x..cc with data, gas and value. Output: one JSON line per program:
//   {"status":"success|revert|error","gasUsed":"N","refund":"N","out":"hex",
//    "storage":{"<addr>":{"<key>":"<value>"}},"logs":[{"addr","topics","data"}],
//    "accounts":{"<addr>":{"balance","nonce","codeSize"}},"skip"?}
// storage and accounts cover the watched addresses, non-zero entries only;
// "skip" says why a run proves nothing (a known ethereumjs deviation).
import { createEVM } from '@ethereumjs/evm'
import { Common, Hardfork, Mainnet } from '@ethereumjs/common'
import { Account, Address, bytesToHex, hexToBytes, setLengthLeft, bytesToBigInt } from '@ethereumjs/util'
import { createInterface } from 'node:readline'

const addr = (b) => new Address(setLengthLeft(new Uint8Array([b]), 20))
const SELF = addr(0xaa), CALLER = addr(0xcc), COINBASE = addr(0xc0)
const hexq = (v) => '0x' + v.toString(16)
const fromHex = (h) => new Address(hexToBytes(h))

function block() {
  return {
    header: {
      // 0x44 is DIFFICULTY before the merge, PREVRANDAO after: 0x42 in frugal
      number: 100n, coinbase: COINBASE, timestamp: 1000n, difficulty: 0x42n,
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
  for (const a of p.accounts ?? []) {
    const A = fromHex(a.addr)
    await sm.putAccount(A, new Account(BigInt(a.nonce ?? 0), BigInt(a.balance ?? 0)))
    if (a.code) await sm.putCode(A, hexToBytes('0x' + a.code))
  }
  if (p.code) await sm.putCode(SELF, hexToBytes('0x' + p.code))
  // as a transaction would: origin, recipient, coinbase and precompiles warm
  if (common.isActivatedEIP(2929)) {
    const warm = [CALLER, SELF]
    if (common.isActivatedEIP(3651)) warm.push(COINBASE)
    for (const a of warm) evm.journal.addAlwaysWarmAddress(a.toString(), true)
    const npre = common.isActivatedEIP(4844) ? 10 : 9
    for (let i = 1; i <= npre; i++) evm.journal.addAlwaysWarmAddress(addr(i).toString(), true)
  }
  const keys = new Map()
  let skip
  evm.events.on('step', (s) => {
    // ethereumjs refuses legacy init code that starts 0xEF00 (EOF's rule,
    // Osaka) at once and in every fork; before EOF the code runs, and
    // 0xEF is an invalid instruction: such a program is not compared
    if (s.opcode.name === 'CREATE' || s.opcode.name === 'CREATE2') {
      const off = s.stack[s.stack.length - 2], len = s.stack[s.stack.length - 3]
      if (len >= 2n && off + 1n < BigInt(s.memory.length) &&
          s.memory[Number(off)] === 0xef && s.memory[Number(off) + 1] === 0) {
        skip = 'ethereumjs refuses 0xEF00 init code'
      }
    }
    if (s.opcode.name === 'SSTORE') {
      const a = s.address.toString()
      if (!keys.has(a)) keys.set(a, new Set())
      keys.get(a).add(s.stack[s.stack.length - 1])
    }
  })
  const r = await evm.runCall({
    to: SELF, caller: CALLER, origin: CALLER, gasLimit: BigInt(p.gas), value: BigInt(p.value ?? 0),
    data: hexToBytes('0x' + (p.data ?? '')), gasPrice: 10n, block: block(), depth: p.depth ?? 0,
  })
  const e = r.execResult
  const status = e.exceptionError === undefined ? 'success'
    : e.exceptionError.error === 'revert' ? 'revert' : 'error'
  const watch = new Set((p.watch ?? []).map((a) => fromHex(a).toString()))
  const storage = {}
  for (const [a, ks] of keys) {
    if (!watch.has(a)) continue
    for (const k of ks) {
      const v = bytesToBigInt(await sm.getStorage(fromHex(a), setLengthLeft(hexToBytes(hexq(k).length % 2 ? '0x0' + k.toString(16) : hexq(k)), 32)))
      if (v !== 0n) {
        storage[a] ??= {}
        storage[a][hexq(k)] = hexq(v)
      }
    }
  }
  const accounts = {}
  for (const a of watch) {
    const acc = await sm.getAccount(fromHex(a))
    const codeSize = (await sm.getCode(fromHex(a))).length
    if (!acc || (acc.balance === 0n && acc.nonce === 0n && codeSize === 0)) continue
    // runCall at depth 0 bumps the caller's nonce, as a transaction does;
    // frugal's evm_memhost_transact (a call, not a transaction) does not
    const nonce = a === CALLER.toString() && !p.depth ? acc.nonce - 1n : acc.nonce
    accounts[a] = { balance: hexq(acc.balance), nonce: nonce.toString(), codeSize }
  }
  const logs = (e.logs ?? []).map(([a, topics, data]) => ({
    addr: bytesToHex(a), topics: topics.map((t) => hexq(bytesToBigInt(t))), data: bytesToHex(data),
  }))
  return {
    status, gasUsed: e.executionGasUsed.toString(), refund: (e.gasRefund ?? 0n).toString(),
    out: bytesToHex(e.returnValue).slice(2), storage, logs, accounts,
    error: e.exceptionError?.error, ...(skip ? { skip } : {}),
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

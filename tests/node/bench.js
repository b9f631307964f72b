// Times @ethereumjs/evm on one bytecode (hex argument) for `frugal bench evm`:
// prints "<seconds> <gas used>" for the best of two runs.
import { createEVM } from '@ethereumjs/evm'
import { Common, Hardfork, Mainnet } from '@ethereumjs/common'
import { Address, hexToBytes, setLengthLeft } from '@ethereumjs/util'

const code = hexToBytes('0x' + process.argv[2])
const common = new Common({ chain: Mainnet, hardfork: Hardfork.Cancun })
const evm = await createEVM({ common })
const addr = new Address(setLengthLeft(new Uint8Array([0xaa]), 20))
let best = Infinity, gas = 0n
for (let i = 0; i < 2; i++) {
  const t0 = process.hrtime.bigint()
  const r = await evm.runCode({ code, gasLimit: 1n << 40n, to: addr })
  const t = Number(process.hrtime.bigint() - t0) / 1e9
  if (r.exceptionError) { console.error(r.exceptionError); process.exit(1) }
  gas = r.executionGasUsed
  if (t < best) best = t
}
console.log(`${best} ${gas}`)

; EVM processes calling each other through keys (docs/evm.md, "Calls
; between processes"). The root makes two EVM processes from containers:
;   key 1, a counter (calldata 100): x = calldata word, slot 0 += x unless
;     x is 0, returns slot 0. Its own transaction sets slot 0 to 100.
;       5f 35 5f 54 01 5f 35 15 60 0e 57 80 5f 55 5b 5f 52 60 20 5f f3
;   key 3, a caller: CALL of key 0 (address 2^32) with x = 5, then RETURN of
;     16 bytes: the counter's answer and the call's success flag, each as
;     one little-endian word.
;       60 05 5f 52 60 20 60 20 60 20 5f 5f 64 01 00 00 00 00 5a f1 60 20 51 60 f8 1b 5f 52 60 f8 1b 60 08 52 60 10 5f f3
; The root runs the counter, gives the caller a call key to it (TRANSFERKEY
; of a process key gives a call key: the call right, no ownership), runs the
; caller, and takes its answer: `frugal exec` prints the stack 1 105.
; Stopped early, the caller is inside the counter's world:
;   frugal exec examples/evm_calls.s --gas 33000 --snapshot c.snap
;   frugal inspect c.snap
;   frugal resume c.snap --refuel 1000000
        PUSH 9
        NEWPAGE                 ; key 0: the counter's container
        POP
        PUSH 13107200495
        PUSH 0
        PUSH 0
        PWRITE
        PUSH 3845792606799069184
        PUSH 0
        PUSH 1
        PWRITE
        PUSH 1035851233266586719
        PUSH 0
        PUSH 2
        PWRITE
        PUSH 6940714821610340439
        PUSH 0
        PUSH 3
        PWRITE
        PUSH 15949600
        PUSH 0
        PUSH 4
        PWRITE
        PUSH 0
        PUSH 0
        PUSH 5
        PWRITE
        PUSH 0
        PUSH 0
        PUSH 6
        PWRITE
        PUSH 0
        PUSH 0
        PUSH 7
        PWRITE
        PUSH 6553600
        PUSH 0
        PUSH 8
        PWRITE
        PUSH 0
        PUSH 67
        CREATE                  ; key 1: the EVM process
        POP
        PUSH 1
        PUSH 1000000
        PUSH 100000
        PUSH -1
        RECURSE 0               ; the counter's own transaction
        POP
        POP
        POP
        POP
        PUSH 7
        NEWPAGE                 ; key 2: the caller's container
        POP
        PUSH 13107200495
        PUSH 2
        PUSH 0
        PWRITE
        PUSH 387309567956353024
        PUSH 2
        PUSH 1
        PWRITE
        PUSH 2332900204210049631
        PUSH 2
        PUSH 2
        PWRITE
        PUSH 23355231
        PUSH 2
        PUSH 3
        PWRITE
        PUSH 2015466734800138586
        PUSH 2
        PUSH 4
        PWRITE
        PUSH 5911080184171221599
        PUSH 2
        PUSH 5
        PWRITE
        PUSH 4083093600
        PUSH 2
        PUSH 6
        PWRITE
        PUSH 2
        PUSH 52
        CREATE                  ; key 3: the EVM process
        POP
        PUSH 3
        PUSH 1
        TRANSFERKEY             ; the caller's key 0: a call key to the counter
        POP
        PUSH 3
        PUSH 1000000
        PUSH 100000
        PUSH -1
        RECURSE 0               ; the caller's transaction
        POP
        POP
        POP
        POP
        PUSH 3
        POPFROM                 ; its EVM status
        POP
        PUSH 3
        POPFROM                 ; the length of its data: 16
        POP
        PUSH 3
        POPFROM                 ; the success flag of its call
        PUSH 3
        POPFROM                 ; the counter's answer
        HALT

; An EVM process in the tree. The root makes a child from an EVM container
; (0xEF 0x01, EVM gas 200000, code length 42, the code, no calldata) and
; runs it with ample credit. The EVM code stores 42 in slot 0, calls itself
; (at its own address, 0xffffffff) with 32 bytes of calldata, and each frame
; counts down from 1000 before RETURN of 32 bytes:
;   CALLDATASIZE PUSH1 24 JUMPI  PUSH1 42 PUSH1 0 SSTORE
;   PUSH1 32 PUSH0 PUSH1 32 PUSH0 PUSH0 PUSH4 0xffffffff GAS CALL POP
;   24: JUMPDEST PUSH2 1000  28: JUMPDEST PUSH1 1 SWAP1 SUB DUP1 PUSH1 28 JUMPI
;   POP PUSH1 32 PUSH0 RETURN
; Stopped early, the snapshot holds the EVM child inside its nested frame:
;   frugal exec examples/evm.s --gas 40000 --snapshot e.snap
;   frugal inspect e.snap
;   frugal resume e.snap --refuel 1000000
        PUSH 7
        NEWPAGE                 ; key 0: the container
        POP
        PUSH 13107200495
        PUSH 0
        PUSH 0
        PWRITE
        PUSH 6932728676386209792
        PUSH 0
        PUSH 1
        PWRITE
        PUSH 6941454813689304856
        PUSH 0
        PUSH 2
        PWRITE
        PUSH -44086709173854432
        PUSH 0
        PUSH 3
        PWRITE
        PUSH 7015289842103746559
        PUSH 0
        PUSH 4
        PWRITE
        PUSH -9222369276338640893
        PUSH 0
        PUSH 5
        PWRITE
        PUSH -909973001668715424
        PUSH 0
        PUSH 6
        PWRITE
        PUSH 0
        PUSH 56
        CREATE                  ; key 1: the EVM process
        PUSH 10000000           ; gas promised: more than the root has
        PUSH 100000             ; words
        PUSH -1                 ; memory-time: no limit of its own
        RECURSE 0               ; status gas memtime words
        HALT

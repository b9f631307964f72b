; The credit model: the root promises a child far more gas than it has.
; When the root runs dry while the child counts, control returns to the host
; with the root suspended inside RECURSE; refuelling the root resumes the
; child exactly where it stopped, and neither of them notices.
;   frugal exec examples/credit.s --gas 50000 --snapshot c.snap
;   frugal inspect c.snap
;   frugal resume c.snap --refuel 1000000
; The child's code counts down from 100000:
;   PUSH 100000; l: PUSH 1; SUB; DUP 0; JNZ l; HALT      (25 bytes)
        PUSH 4
        NEWPAGE                 ; key 0: the child's code
        POP
        PUSH 0x186a010          ; bytes 0-7
        PUSH 0
        PUSH 0
        PWRITE
        PUSH 0x11000            ; bytes 8-15
        PUSH 0
        PUSH 1
        PWRITE
        PUSH 0xfff10a0012210000 ; bytes 16-23
        PUSH 0
        PUSH 2
        PWRITE
        PUSH 0
        PUSH 25
        CREATE                  ; key 1: the child
        PUSH 10000000           ; gas promised: more than the root has
        PUSH 1000               ; words
        PUSH -1                 ; memory-time: no limit of its own
        RECURSE 0               ; status gas memtime words
        HALT

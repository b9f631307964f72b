; The rarVM sandbox: run f(x) = x + 1 in a child limited to 50 gas and 50
; words. x goes in and f(x) comes out by explicit copy; the child can reach
; nothing of its parent.
;   frugal exec examples/sandbox.s --push 41
; leaves: the child's status (1, HALTED), f(x); or only the status when the
; child did not halt (then it has no answer to take)
        PUSH 2
        NEWPAGE                 ; key 0: a page for the child's code
        POP
        PUSH 0x110              ; code bytes 0-7:  10 01 00 00 00 00 00 00  (PUSH 1 ...
        PUSH 0
        PUSH 0
        PWRITE
        PUSH 0x2000             ; code bytes 8-10: 00 20 00                 ... ADD HALT)
        PUSH 0
        PUSH 1
        PWRITE
        PUSH 0
        PUSH 11
        CREATE                  ; key 1: the child              x 1
        SWAP 0                  ; 1 x
        PUSH 1
        PUSHTO                  ; x onto the child's stack      1
        PUSH 50                 ; gas
        PUSH 50                 ; words
        PUSH -1                 ; memory-time: no limit of its own
        RECURSE 0               ; status gas memtime words
        POP
        POP
        POP                     ; status
        DUP 0
        PUSH 1
        EQ
        JZ failed               ; status
        PUSH 1
        POPFROM                 ; status f(x)
failed: HALT

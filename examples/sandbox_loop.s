; The rarVM sandbox in a loop, `while: yield f<50,50>(x)`: every round makes a
; fresh child for f(x) = x + 1, runs it under 50 gas and 50 words, takes
; f(x) and drops the child. A dropped child's key slot is reused by the next
; CREATE (the lowest empty slot), so the loop runs for ever in constant
; memory; here it runs n rounds.
;   frugal exec examples/sandbox_loop.s --push 0 --push 100000 --gas 200000000
; leaves: x n status
;   x       f applied to x once per round that ran
;   n       rounds not run (0 when all ran)
;   status  1 (HALTED) when every child halted, else the status of the
;           first child that did not (the loop stops there)
; A round that cannot even make its child stops the program itself, with
; CREATE's status (KEY_LIMIT, OUT_OF_MEMORY, OUT_OF_GAS).
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
loop:   DUP 0                   ; x n n
        JZ done                 ; x n
        PUSH 0
        PUSH 11
        CREATE                  ; x n k         (k is 1 in every round)
        DUP 2
        DUP 1                   ; x n k x k
        PUSHTO                  ; x n k         x onto the child's stack
        DUP 0
        PUSH 50                 ; gas
        PUSH 50                 ; words
        PUSH -1                 ; memory-time: no limit of its own
        RECURSE 0               ; x n k status gas memtime words
        POP
        POP
        POP                     ; x n k status
        DUP 0
        PUSH 1
        EQ
        JZ failed               ; x n k status   the child did not halt
        POP
        DUP 0
        POPFROM                 ; x n k f(x)
        SWAP 0
        DROPKEY                 ; x n f(x)       the child is gone, slot k is free
        ROT
        POP                     ; n f(x)
        SWAP 0
        PUSH 1
        SUB                     ; f(x) n-1
        JMP loop
failed: SWAP 0
        DROPKEY                 ; x n status
        HALT
done:   PUSH 1                  ; x 0 1
        HALT

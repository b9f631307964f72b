; The recursive sandbox: f sandboxes itself n levels deep. Each level forks a
; copy of itself and runs it as a child with all but 100 of its own gas and
; all but 40 of its own words; the deepest computes x + 1.
;   frugal exec experiments/examples/sandbox_rec.s --push 41 --push 3
; leaves: x n f(x)
start:  DUP 0                   ; x n n
        JZ base                 ; x n
        FORK                    ; x n k        (the copy sees x n -1)
        DUP 0
        PUSH -1
        EQ
        JNZ copy                ; x n k
        DUP 0                   ; x n k k
        GAS
        PUSH 100
        SUB                     ; x n k k gas
        MEMLEFT
        PUSH 40
        SUB                     ; x n k k gas words
        PUSH -1                 ; memory-time: no limit of its own
        RECURSE 0               ; x n k status gas memtime words
        POP
        POP
        POP
        POP                     ; x n k
        POPFROM                 ; x n f(x)
        HALT
copy:   POP                     ; x n
        PUSH 1
        SUB                     ; x n-1
        JMP start
base:   POP                     ; x
        PUSH 1
        ADD                     ; x+1
        HALT

; Hostile: a fork bomb. Every process forks itself for ever and runs each
; copy (RECURSE, credit mode) with everything it has; the copies do the same.
; The per-move budgets (memory: every child costs its owner 16 words plus its
; code and memory; gas; nesting depth) stop it; the move is forfeited.
start:  FORK                    ; k (the copy sees -1)
        DUP 0
        PUSH -1
        EQ
        JNZ copy
        GAS                     ; k gas
        MEMLEFT                 ; k gas words
        PUSH -1                 ; no memory-time limit of its own
        RECURSE 0               ; status gas memtime words
        POP
        POP
        POP
        POP
        JMP start               ; and again: the children pile up
copy:   POP
        JMP start

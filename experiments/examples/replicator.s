; KeyVM's self-replicator: a process forks itself twice, gives each copy a
; third of its gas and words (transfer), and each copy does the same, until
; a share is too small. The copies form a binary tree.
;   frugal exec experiments/examples/replicator.s --gas 2000000 --mem 1000000
start:  GAS
        PUSH 3
        DIV                     ; share
        DUP 0
        PUSH 200
        LT
        JNZ done                ; too poor to replicate
        FORK                    ; share k1     (the copy sees share -1)
        DUP 0
        PUSH -1
        EQ
        JNZ copy
        FORK                    ; share k1 k2  (the copy sees share k1 -1)
        DUP 0
        PUSH -1
        EQ
        JNZ copy2
        OVER                    ; share k1 k2 k1
        DUP 3                   ; share k1 k2 k1 share
        MEMLEFT
        PUSH 3
        DIV                     ; share k1 k2 k1 share words/3
        PUSH -1
        RECURSE 1               ; share k1 k2 status gas memtime words
        POP
        POP
        POP
        POP                     ; share k1 k2
        DUP 0                   ; share k1 k2 k2
        DUP 3                   ; share k1 k2 k2 share
        MEMLEFT
        PUSH 3
        DIV
        PUSH -1
        RECURSE 1
        POP
        POP
        POP
        POP
done:   HALT
copy:   POP                     ; share -1 -> start over with its own budget
        POP
        JMP start
copy2:  POP
        POP
        POP
        JMP start

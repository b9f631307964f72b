; KeyVM's self-replicator: a process forks itself twice, gives each copy a
; third of its gas and words (transfer), and each copy does the same, until
; a share is too small. The copies form a binary tree. Each process leaves
; on top of its stack how many processes below it did not halt (a copy's
; RECURSE status other than HALTED counts it as one, and its own count is
; not read): the root's top is 0 when the whole tree halted.
;   frugal exec examples/replicator.s --gas 20000000 --mem 1000000
start:  GAS
        PUSH 3
        DIV                     ; share
        DUP 0
        PUSH 10000
        LT
        JNZ done                ; too poor to replicate (a FORK costs 40 gas per code byte)
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
        PUSH 1
        EQ                      ; share k1 k2 halted
        JZ lost1
        DUP 1
        POPFROM                 ; share k1 k2 f1   (the copy's own count)
        JMP run2
lost1:  PUSH 1                  ; share k1 k2 1    (it did not halt)
run2:   DUP 1                   ; share k1 k2 f1 k2
        DUP 4                   ; share k1 k2 f1 k2 share
        MEMLEFT
        PUSH 3
        DIV
        PUSH -1
        RECURSE 1               ; share k1 k2 f1 status gas memtime words
        POP
        POP
        POP
        PUSH 1
        EQ
        JZ lost2
        DUP 1
        POPFROM                 ; share k1 k2 f1 f2
        ADD                     ; share k1 k2 failed
        HALT
lost2:  PUSH 1
        ADD
        HALT
done:   PUSH 0                  ; share 0
        HALT
copy:   POP                     ; share -1 -> start over with its own budget
        POP
        JMP start
copy2:  POP
        POP
        POP
        JMP start

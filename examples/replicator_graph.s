; KeyVM's self-replicator with a capability graph, not just a tree. Like
; replicator.s, a process forks itself twice and gives each copy a third of
; its gas and words (transfer), and each copy does the same until a share is
; too small. Between the two FORKs and the runs it hands out call keys at
; random (RAND): one copy gets a call key to the other, or the other way
; round, or both. A FORK copy inherits its parent's call keys, so keys to
; uncles and cousins spread down the tree: `frugal inspect --dot` draws them
; as dashed edges across the tree. Each process leaves on top how many
; processes below it did not halt; the root's top is 0 when all halted.
;   frugal exec examples/replicator_graph.s --gas 20000000 --mem 1000000
;   frugal exec examples/replicator_graph.s --gas 1000000 --snapshot g.snap
;   frugal inspect g.snap --dot
start:  GAS
        PUSH 3
        DIV                     ; share
        DUP 0
        PUSH 20000
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
        RAND                    ; share k1 k2 r
        DUP 0
        PUSH 1
        AND
        JZ no12                 ; bit 0: k1 gets a call key to k2
        DUP 2
        DUP 2
        TRANSFERKEY
        POP
no12:   PUSH 2
        AND
        JZ no21                 ; bit 1: k2 gets a call key to k1
        DUP 0
        DUP 2
        TRANSFERKEY
        POP
no21:   OVER                    ; share k1 k2 k1
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

; The recursive sandbox: f sandboxes itself n levels deep. Each level forks a
; copy of itself and runs it as a child with all but 100 of its own gas and
; all but 40 of its own words; the deepest computes x + 1.
;   frugal exec examples/sandbox_rec.s --push 41 --push 3
; leaves: x n f(x) 1, or x n status 0 when a level's child did not halt:
; status is the first one that was not HALTED, passed up by every level. The
; chain of processes is n + 1 long, which must fit under the nesting limit
; (64 by default): n = 70 leaves 41 70 16 0 (16, NEST_LIMIT) unless run with
; --depth 71 or more.
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
        POP                     ; x n k status
        DUP 0
        PUSH 1
        EQ
        JZ failed               ; x n k status   the child did not halt
        POP
        DUP 0
        POPFROM                 ; x n k ok       the child's own verdict
        SWAP 0
        POPFROM                 ; x n ok v       its f(x), or the status it saw
        SWAP 0                  ; x n v ok
        HALT
failed: SWAP 0
        POP                     ; x n status
        PUSH 0                  ; x n status 0
        HALT
copy:   POP                     ; x n
        PUSH 1
        SUB                     ; x n-1
        JMP start
base:   DUP 1
        PUSH 1
        ADD                     ; x 0 x+1
        PUSH 1                  ; x 0 f(x) 1
        HALT

; Jumping processes (rarVM): a child runs part way, is saved into a page,
; dropped, revived from the page and finished. It leaves the same result as
; a child that was never moved.
;   frugal exec examples/jump.s
; leaves: status and result of the moved child, then of the unmoved one
; (1 = HALTED each, and equal results)
        PUSH 512
        NEWPAGE                 ; key 0: the page the image goes to
        POP
        FORK                    ; key 1: the child that will jump
        DUP 0
        PUSH -1
        EQ
        JNZ child
        POP
        FORK                    ; key 2: a child that never moves
        DUP 0
        PUSH -1
        EQ
        JNZ child
        POP
        PUSH 1                  ; run the first child part way
        PUSH 1500
        PUSH 1000
        PUSH -1
        RECURSE 0               ; status gas memtime words: OUT_OF_GAS, inside its loop
        POP
        POP
        POP
        POP
        PUSH 1
        PUSH 0
        SAVECHILD               ; its whole state into page 0: the image's length in bytes
        POP
        PUSH 1
        DROPKEY                 ; gone
        PUSH 0
        LOADCHILD               ; revived from the page, as key 1 (the lowest empty slot)
        PUSH 1000000            ; finish it
        PUSH 1000
        PUSH -1
        RECURSE 0
        POP
        POP
        POP                     ; status
        PUSH 1
        POPFROM                 ; status result
        PUSH 2                  ; the unmoved child, in one go
        PUSH 1000000
        PUSH 1000
        PUSH -1
        RECURSE 0
        POP
        POP
        POP
        PUSH 2
        POPFROM                 ; status result status result
        HALT

; the child: sum of i*i for i < 300, plus the heap word 3 (the sum of the
; i with i mod 8 = 3); a loop frame and a heap to carry across
child:  POP
        PUSH 8
        ALLOC
        POP
        PUSH 0                  ; acc
        PUSH 300
        TIMES
        INDEX
        DUP 0
        MUL
        ADD                     ; acc += i*i
        INDEX
        DUP 0
        PUSH 8
        MOD                     ; acc i slot
        DUP 0
        LOAD                    ; acc i slot heap[slot]
        ROT                     ; acc slot heap[slot] i
        ADD
        SWAP 0                  ; acc heap[slot]+i slot
        STORE
        CLOSE
        PUSH 3
        LOAD
        ADD
        HALT

; Jumping processes between two runs, part 1: run the child of
; examples/jump.s part way and save it into page 0, which --page-out writes
; to a file; examples/jump_in.s revives and finishes it in another run.
;   frugal exec examples/jump_out.s --page-out child.img
;   frugal exec examples/jump_in.s --page-in child.img
; leaves: the child's status after the first part (3, OUT_OF_GAS) and the
; image's length in bytes
        PUSH 512
        NEWPAGE                 ; key 0: the page the image goes to
        POP
        FORK                    ; key 1: the child
        DUP 0
        PUSH -1
        EQ
        JNZ child
        POP
        PUSH 1
        PUSH 1500
        PUSH 1000
        PUSH -1
        RECURSE 0               ; status gas memtime words
        POP
        POP
        POP                     ; status
        PUSH 1
        PUSH 0
        SAVECHILD               ; status n
        HALT

child:  POP
        PUSH 8
        ALLOC
        POP
        PUSH 0
        PUSH 300
        TIMES
        INDEX
        DUP 0
        MUL
        ADD
        INDEX
        DUP 0
        PUSH 8
        MOD
        DUP 0
        LOAD
        ROT
        ADD
        SWAP 0
        STORE
        CLOSE
        PUSH 3
        LOAD
        ADD
        HALT

; Jumping processes between two runs, part 2: revive the child that
; examples/jump_out.s saved, from the page --page-in gives as key 0, and
; finish it.
;   frugal exec examples/jump_in.s --page-in child.img
; leaves: its status (1, HALTED) and result, as examples/jump.s does
        PUSH 0
        LOADCHILD               ; key 1: the revived child
        DUP 0
        PUSH 1000000
        PUSH 1000
        PUSH -1
        RECURSE 0               ; k status gas memtime words
        POP
        POP
        POP                     ; k status
        SWAP 0
        POPFROM                 ; status result
        HALT

; Colonel Blotto: play the opponent's last allocation (observation word 3);
; 2 2 2 2 2 in the first round and after an opponent's forfeit (its
; recorded allocation is 0, which is not a legal move).
        PUSH 0
        IN
        POP
        PUSH 0
        IN
        POP
        PUSH 0
        IN
        POP
        PUSH 0
        IN                      ; the opponent's last move, -1 before round 0
        DUP 0
        PUSH 0
        GT
        JNZ play                ; a real allocation: copy it
        POP
        PUSH 0x0202020202
play:   PUSH 1
        OUT
        HALT

; Colonel Blotto: play the opponent's last allocation (observation word 3);
; 2 2 2 2 2 in the first round.
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
        PUSH -1
        EQ
        JZ play
        POP
        PUSH 0x0202020202
play:   PUSH 1
        OUT
        HALT

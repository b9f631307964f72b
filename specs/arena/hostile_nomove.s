; Hostile: halts without writing a move, then (every other round) writes an
; illegal move 7 instead. Both forfeit.
        PUSH 0
        IN                      ; round
        PUSH 1
        AND
        JZ quit
        PUSH 7
        PUSH 1
        OUT
quit:   HALT

; Iterated prisoner's dilemma: grim trigger. Cooperate until the opponent
; defects once, then defect for ever (word 4 of the observation counts the
; opponent's defections so far).
        PUSH 0
        IN                      ; round
        POP
        PUSH 0
        IN                      ; rounds
        POP
        PUSH 0
        IN                      ; my last move
        POP
        PUSH 0
        IN                      ; opponent's last move
        POP
        PUSH 0
        IN                      ; opponent's defections so far
        PUSH 0
        GT                      ; defect iff any
        PUSH 1
        OUT
        HALT

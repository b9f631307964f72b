; Iterated prisoner's dilemma: tit-for-tat. Cooperate first, then copy the
; opponent's last move. Observation (key 0, docs/arena.md): round, rounds,
; my last, opponent's last (-1 before the first round), ...; move (key 1):
; 0 cooperate, 1 defect.
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
        IN                      ; opponent's last move: -1, 0 or 1
        PUSH 1
        EQ                      ; defect iff the opponent defected
        PUSH 1
        OUT
        HALT

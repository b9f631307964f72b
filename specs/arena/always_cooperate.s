; Iterated prisoner's dilemma: always cooperate.
        PUSH 0                  ; cooperate
        PUSH 1                  ; the move channel
        OUT
        HALT

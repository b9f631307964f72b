; Iterated prisoner's dilemma: always defect. It needs no observation.
        PUSH 1                  ; defect
        PUSH 1                  ; the move channel
        OUT
        HALT

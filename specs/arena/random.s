; Iterated prisoner's dilemma: random. Defect when the low bit of the
; referee's random word (observation word 7) is set: a fair coin from the
; referee's seeded stream, so the game is reproducible from the seed.
        PUSH 7                  ; words to skip
skip:   PUSH 0
        IN
        POP
        PUSH 1
        SUB
        DUP 0
        JNZ skip
        POP
        PUSH 0
        IN                      ; the random word
        PUSH 1
        AND
        PUSH 1
        OUT
        HALT

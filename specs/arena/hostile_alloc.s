; Hostile: memory exhaustion. ALLOC in a loop until the per-move memory
; budget stops it (OUT_OF_MEMORY); the move is forfeited.
loop:   PUSH 1000
        ALLOC
        POP
        JMP loop

; Hostile: an infinite loop. The per-move gas budget stops it (OUT_OF_GAS);
; the move is forfeited.
loop:   JMP loop

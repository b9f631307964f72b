; Hostile: uses keys it does not hold. The player holds key 0 (observation,
; READ) and key 1 (move, WRITE) only. By round r it tries attack a = r mod 33:
;   a = 0..7    IN on key 2+a                 (empty slots)
;   a = 8..15   OUT on key 2+(a-8)
;   a = 16..23  PREAD on key 2+(a-16)
;   a = 24..31  FORK, then TRANSFERKEY key 3+(a-24) (not held) into the copy
;   a = 32      IN on key 1 (held, but WRITE only)
; Each attempt stops it with BAD_KEY; the move is forfeited. If an attack
; ever worked, it would defect.
        PUSH 0
        IN                      ; round
        PUSH 33
        MOD                     ; a
        DUP 0
        PUSH 32
        EQ
        JNZ readmove
        DUP 0
        PUSH 8
        LT
        JNZ atk_in
        DUP 0
        PUSH 16
        LT
        JNZ atk_out
        DUP 0
        PUSH 24
        LT
        JNZ atk_pread
        ; 24..31: FORK, then TRANSFERKEY an unheld key into the copy
        PUSH 21
        SUB                     ; 3+(a-24)
        FORK                    ; k' child (the copy sees -1)
        DUP 0
        PUSH -1
        EQ
        JNZ done                ; the copy is never run
        SWAP 0                  ; child k'
        TRANSFERKEY
        JMP done
atk_in: PUSH 2
        ADD
        IN
        JMP done
atk_out:
        PUSH 6
        SUB                     ; 2+(a-8)
        PUSH 1                  ; key w
        SWAP 0                  ; w key
        OUT
        JMP done
atk_pread:
        PUSH 14
        SUB                     ; page key 2+(a-16)
        PUSH 0                  ; index
        PREAD
        JMP done
readmove:
        PUSH 1
        IN
done:   PUSH 1
        PUSH 1
        OUT
        HALT

; Colonel Blotto (10 soldiers, 5 fields): 4 3 3 0 0 rotated by a random
; number of fields, r mod 5, where r is the referee's random word
; (observation word 7).
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
        IN                      ; r (0 .. 2^32-1)
        PUSH 5
        MOD
        PUSH 8
        MUL                     ; s = 8 * (r mod 5)
        DUP 0                   ; s s
        PUSH 0x030304
        SWAP 0
        SHL                     ; s x<<s
        SWAP 0                  ; x<<s s
        PUSH 40
        SWAP 0
        SUB                     ; x<<s 40-s
        PUSH 0x030304
        SWAP 0
        SHR                     ; x<<s x>>(40-s)
        OR
        PUSH 0xFFFFFFFFFF
        AND                     ; the rotation, within 5 fields
        PUSH 1
        OUT
        HALT

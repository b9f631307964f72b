; Colonel Blotto (10 soldiers, 5 fields): concentrate on three fields,
; 4 3 3 0 0 (fields 0..4).
        PUSH 0x030304
        PUSH 1
        OUT
        HALT

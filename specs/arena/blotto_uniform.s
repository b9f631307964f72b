; Colonel Blotto (10 soldiers, 5 fields; field i is byte i of the move):
; 2 soldiers on every field.
        PUSH 0x0202020202
        PUSH 1
        OUT
        HALT

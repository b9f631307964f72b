; Calls between native processes (docs/isa.md, "Calls"). The root forks a
; server and a client, gives the client a call key to the server, and runs
; the client. The client calls the server three times (KCALL: the argument
; goes on the server's stack, the server runs on the client's budget and
; YIELDs its answer); the server keeps a running sum, so the answers are
; 5, 12 and 21. The root ends with the client's status and its three
; answers, the last on top.
;   frugal exec examples/calls.s
        FORK                    ; k_server   (the copy sees -1)
        DUP 0
        PUSH -1
        EQ
        JNZ server
        FORK                    ; k_server k_client
        DUP 0
        PUSH -1
        EQ
        JNZ client
        PUSH 1                  ; give the client (key 1) a call key to the server (key 0)
        PUSH 0
        TRANSFERKEY
        POP
        PUSH 0                  ; run the server to its first YIELD
        PUSH 1000
        PUSH 100
        PUSH -1
        RECURSE 0
        POP
        POP
        POP
        POP
        PUSH 1                  ; run the client (credit)
        PUSH 100000
        PUSH 1000
        PUSH -1
        RECURSE 0
        POP
        POP
        POP                     ; k_server k_client status
        PUSH 1
        POPFROM
        PUSH 1
        POPFROM
        PUSH 1
        POPFROM                 ; k_server k_client status a3 a2 a1
        SWAP 1                  ; ... a1 a2 a3: the last answer on top
        HALT
server: POP                     ; (the copy's -1)
        PUSH 0                  ; sum
wait:   YIELD                   ; sum arg
        ADD
        DUP 0                   ; sum sum: the answer on top
        JMP wait
client: POP
        POP                     ; (the copy's k_server -1)
        PUSH 5                  ; its call key to the server is key 0
        PUSH 0
        PUSH 500
        KCALL                   ; 5 YIELDED gas
        POP
        POP
        PUSH 7
        PUSH 0
        PUSH 500
        KCALL
        POP
        POP
        PUSH 9
        PUSH 0
        PUSH 500
        KCALL
        POP
        POP                     ; 5 12 21
        HALT

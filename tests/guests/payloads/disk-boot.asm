; SPDX-License-Identifier: GPL-3.0-or-later
; A two-sector raw disk for storage-controller guest tests. The MBR (sector 0) prints
; a banner through INT 10h, reads sector 1 with INT 13h (extended read when offered,
; else CHS), checks its signature, prints the message stored there, writes sector 2
; with INT 13h and reads it back, then ends the run through the test-exit port
; (0x501): 0x21 when everything worked, 0x31.. for the step that failed.
; Build: nasm -f bin -o disk.img disk-boot.asm
bits 16
org 0x7c00

start:
    cli
    xor ax, ax
    mov ds, ax
    mov es, ax
    mov ss, ax
    mov sp, 0x7c00
    sti
    mov [drive], dl

    mov si, banner
    call print

    ; Read LBA 1 to 0x8000 with the extensions' disk address packet.
    mov byte [dap_count], 1
    mov dword [dap_lba], 1
    mov word [dap_buf], 0x8000
    mov ah, 0x42
    mov dl, [drive]
    mov si, dap
    int 0x13
    mov al, 0x31
    jc fail
    cmp dword [0x8000], 'BXWD'
    mov al, 0x32
    jne fail
    mov si, 0x8004
    call print

    ; Write a pattern to LBA 2, clear the buffer, read it back.
    mov di, 0x9000
    mov cx, 512
    mov al, 0x5a
    rep stosb
    mov byte [dap_count], 1
    mov dword [dap_lba], 2
    mov word [dap_buf], 0x9000
    mov ah, 0x43
    xor al, al
    mov dl, [drive]
    mov si, dap
    int 0x13
    mov al, 0x33
    jc fail
    mov di, 0x9000
    mov cx, 512
    xor al, al
    rep stosb
    mov byte [dap_count], 1
    mov ah, 0x42
    mov dl, [drive]
    mov si, dap
    int 0x13
    mov al, 0x34
    jc fail
    cmp byte [0x9000], 0x5a
    mov al, 0x35
    jne fail
    cmp byte [0x91ff], 0x5a
    jne fail

    mov si, done_msg
    call print
    mov al, 0x21
fail:
    mov dx, 0x501
    out dx, al
.halt:
    hlt
    jmp .halt

print:
    lodsb
    test al, al
    jz .ret
    mov ah, 0x0e
    mov bx, 0x0007
    int 0x10
    jmp print
.ret:
    ret

banner:   db 'boxwood disk boot: MBR running', 13, 10, 0
done_msg: db 'boxwood disk boot: write/read-back OK', 13, 10, 0
drive:    db 0
align 4
dap:      db 0x10, 0
dap_count: dw 1
dap_buf:  dw 0x8000, 0
dap_lba:  dd 1, 0

times 510 - ($ - $$) db 0
dw 0xaa55

; Sector 1: signature and message.
sector1:
    db 'BXWD'
    db 'boxwood disk boot: sector 1 read OK', 13, 10, 0
    times 1024 - ($ - $$) db 0
; Sector 2: scratch for the write test. SeaBIOS derives a CHS geometry of 16 heads x 63
; sectors, so the disk must hold whole cylinders: pad to 2 MiB (4 cylinders).
    times 2 * 1024 * 1024 - ($ - $$) db 0

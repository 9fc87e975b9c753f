; SPDX-License-Identifier: GPL-3.0-or-later
; A boot sector that writes to its own disk forever, for the crash-safety guest test
; (test-disk-crash.py). It reads a boot counter from LBA 1, increments and writes it
; back, then loops over 1 MiB blocks 1..NBLOCKS-1 writing one sector at
; LBA block*2048 + 7 (inside the block, so on a dynamic VDI the first write to a block
; allocates it through a read-modify-write of the whole block). Each record holds
; 'BXWK', the boot counter, the block number and a sequence number. After INT 13h
; reports a write done, the record is acknowledged on the debug console (port 0x402)
; as "W <block> <seq>\n" (hex). The host kills the runner at random moments and checks
; that every acknowledged record is on the disk.
; Build: nasm -f bin -o disk-writer.img disk-writer.asm (pad to the disk size on the host)
bits 16
org 0x7c00

NBLOCKS equ 32

start:
    cli
    xor ax, ax
    mov ds, ax
    mov es, ax
    mov ss, ax
    mov sp, 0x7c00
    sti
    mov [drive], dl

    ; Boot counter: read LBA 1, bump, write back.
    mov dword [dap_lba], 1
    mov ah, 0x42
    call disk_io
    mov al, 0x31
    jc fail
    mov eax, [0x8000]
    inc eax
    mov [0x8000], eax
    mov [boot_id], eax
    mov ah, 0x43
    call disk_io
    mov al, 0x32
    jc fail
    mov si, msg_boot
    call dbg_str
    mov eax, [boot_id]
    call dbg_hex
    mov al, 10
    call dbg_chr

    xor ebp, ebp            ; seq
    mov ebx, 1              ; block
.loop:
    inc ebp
    ; Build the record at 0x8000.
    mov di, 0x8000
    mov cx, 512
    mov al, 0xa5
    rep stosb
    mov dword [0x8000], 'BXWK'
    mov eax, [boot_id]
    mov [0x8004], eax
    mov [0x8008], ebx
    mov [0x800c], ebp
    mov eax, ebx
    shl eax, 11
    add eax, 7
    mov [dap_lba], eax
    mov ah, 0x43
    call disk_io
    mov al, 0x33
    jc fail
    ; Acknowledge: "W <block> <seq>\n".
    mov si, msg_w
    call dbg_str
    mov eax, ebx
    call dbg_hex
    mov al, ' '
    call dbg_chr
    mov eax, ebp
    call dbg_hex
    mov al, 10
    call dbg_chr
    inc ebx
    cmp ebx, NBLOCKS
    jb .loop
    mov ebx, 1
    jmp .loop

fail:
    mov dx, 0x501
    out dx, al
.halt:
    hlt
    jmp .halt

; INT 13h extended read (AH=42h) or write (AH=43h) of one sector at [dap_lba] to/from 0x8000.
disk_io:
    mov byte [dap_count], 1
    mov word [dap_buf], 0x8000
    xor al, al
    mov dl, [drive]
    mov si, dap
    push ebx
    push ebp
    int 0x13
    pop ebp
    pop ebx
    ret

dbg_chr:
    push dx
    mov dx, 0x402
    out dx, al
    pop dx
    ret

dbg_str:
    lodsb
    test al, al
    jz .ret
    call dbg_chr
    jmp dbg_str
.ret:
    ret

; Prints EAX as 8 hex digits.
dbg_hex:
    push cx
    push edx
    mov edx, eax
    mov cx, 8
.digit:
    rol edx, 4
    mov al, dl
    and al, 0x0f
    add al, '0'
    cmp al, '9'
    jbe .out
    add al, 'a' - '0' - 10
.out:
    call dbg_chr
    loop .digit
    pop edx
    pop cx
    ret

msg_boot: db 'B ', 0
msg_w:    db 'W ', 0
drive:    db 0
align 4
boot_id:  dd 0
dap:      db 0x10, 0
dap_count: dw 1
dap_buf:  dw 0x8000, 0
dap_lba:  dd 1, 0

times 510 - ($ - $$) db 0
dw 0xaa55

; Sector 1: the boot counter, starts at 0.
    times 1024 - ($ - $$) db 0

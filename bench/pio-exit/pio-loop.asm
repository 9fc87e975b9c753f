; SPDX-License-Identifier: GPL-3.0-or-later
;
; pio-loop: option ROM for the port-I/O exit benchmark. During POST it runs N
; `out dx, al` to port 0x80 with interrupts off, timed with rdtsc, prints
;   pio-exit: N=200000 cycles/exit=C
; on COM1, then powers the machine off through the PIIX4 PM block (ACPI S5) so the
; VMM process ends. Port 0x80 (the POST-code port) has no side effects and is handled
; in user space by Boxwood (unclaimed port) and QEMU (its dummy ioport80 device) alike,
; so every iteration is one full exit to the VMM process.
;
; Build: romsum.py --nasm nasm pio-loop.asm pio-loop.bin

bits 16
org 0

ROM_BLOCKS      equ 2
COM1            equ 0x3f8
BENCH_PORT      equ 0x80
N_EXITS         equ 200000
PM_CONFIG_ADDR  equ 0x80000b40          ; bus 0, dev 1, fn 3 (PIIX4 PM), reg 0x40 PMBA

    db 0x55, 0xaa
    db ROM_BLOCKS
    jmp near init

init:
    pushf
    pushad
    push ds
    push cs
    pop ds
    cli

    rdtsc
    mov esi, eax
    mov edi, edx
    mov ecx, N_EXITS
    mov dx, BENCH_PORT
.loop:                                  ; the same three instructions as bare-kvm.c
    out dx, al
    dec ecx
    jnz .loop
    rdtsc
    sub eax, esi
    sbb edx, edi
    mov ecx, N_EXITS
    div ecx                             ; eax = cycles per exit

    push eax
    mov si, msg_head
    call puts
    mov eax, N_EXITS
    call put_u32
    mov si, msg_mid
    call puts
    pop eax
    call put_u32
    mov si, msg_eol
    call puts

    ; power off: SLP_EN with SLP_TYP 0 at PMBA + 4
    mov eax, PM_CONFIG_ADDR
    mov dx, 0xcf8
    out dx, eax
    mov dx, 0xcfc
    in eax, dx
    and ax, 0xffc0
    jz .nopm
    add ax, 4
    mov dx, ax
    mov ax, 0x2000
    out dx, ax
.nopm:
    pop ds
    popad
    popf
    retf

; eax = value, printed in decimal
put_u32:
    push ebx
    push ecx
    push edx
    mov ebx, 10
    xor ecx, ecx
.div:
    xor edx, edx
    div ebx
    push dx
    inc cx
    test eax, eax
    jnz .div
.out:
    pop ax
    add al, '0'
    call putc
    loop .out
    pop edx
    pop ecx
    pop ebx
    ret

; ds:si = NUL-terminated string
puts:
    lodsb
    test al, al
    jz .done
    call putc
    jmp puts
.done:
    ret

putc:
    push ax
    push cx
    push dx
    mov ah, al
    mov dx, COM1 + 5
    mov cx, 0xffff
.busy:
    in al, dx
    test al, 0x20
    jnz .ready
    loop .busy
.ready:
    mov dx, COM1
    mov al, ah
    out dx, al
    pop dx
    pop cx
    pop ax
    ret

msg_head:   db "pio-exit: N=", 0
msg_mid:    db " cycles/exit=", 0
msg_eol:    db 13, 10, 0

    times ROM_BLOCKS * 512 - 1 - ($ - $$) db 0
    db 0                                ; checksum, fixed by romsum.py

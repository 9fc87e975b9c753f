; SPDX-License-Identifier: GPL-3.0-or-later
;
; pc-selftest: a SeaBIOS option ROM that checks the PC platform from inside a guest.
; SeaBIOS runs its init entry (offset 3) during POST, with its interrupt handlers
; in place. It reports on COM1 (polled), then walks through three resets/power-off
; kept apart by a stage byte in CMOS NVRAM, which survives a reset:
;   (a) PIT:  the BIOS tick count at 0040:006C advances      -> "PIT OK" / "PIT FAIL"
;   (b) RTC:  periodic interrupts on IRQ 8 with our handler  -> "RTC OK" / "RTC FAIL"
;   (d) ACPI: an RSDP with a valid checksum in the BIOS area -> "ACPI RSDP OK oem=..."
;       (real mode cannot follow it above 1 MiB; SeaBIOS's own log does not say where
;       its tables came from, so the OEM ID printed is the evidence)
;   (c) stage 0: reset via port 0xCF9; stage 1: reset via i8042 0xFE;
;       stage 2: ACPI S5 power-off through the PIIX4 PM block.
; Real-mode code only: no x87, no int3 (kvm_pvm cannot execute them).
;
; Build: nasm -f bin -o pc-selftest.bin pc-selftest.asm && romsum.py pc-selftest.bin

bits 16
org 0

ROM_BLOCKS      equ 4                   ; 2 KiB
COM1            equ 0x3f8
CMOS_INDEX      equ 0x70
CMOS_DATA       equ 0x71
CMOS_STAGE      equ 0x50                ; NVRAM byte no firmware uses
BDA_SEG         equ 0x40
BDA_TICKS       equ 0x6c
RTC_COUNT       equ 0x4f0               ; 0000:04F0, the inter-application area
RTC_VECTOR      equ 0x70
RTC_WANT        equ 32                  ; interrupts to count
RTC_MAX_TICKS   equ 182                 ; ~10 s of PIT ticks: kvm_pvm may reinject PIT ticks in bursts
PIT_WANT_TICKS  equ 2
PIT_MAX_HALTS   equ 400
PM_CONFIG_ADDR  equ 0x80000b40          ; bus 0, dev 1, fn 3 (PIIX4 PM), reg 0x40 PMBA

header:
    db 0x55, 0xaa
    db ROM_BLOCKS
    jmp near init                       ; offset 3: SeaBIOS far-calls this during POST

init:
    pushf
    push ds
    push es
    pushad
    cld
    push cs
    pop ds

    mov si, msg_start
    call puts

    call test_pit
    call test_rtc
    call test_rsdp
    call next_stage                     ; does not return unless the stage is unknown

    popad
    pop es
    pop ds
    popf
    retf

; ---- (a) PIT: the BIOS timer tick must advance while interrupts are on ----
test_pit:
    mov ax, BDA_SEG
    mov es, ax
    mov bx, [es:BDA_TICKS]
    mov cx, PIT_MAX_HALTS
    sti
.wait:
    hlt
    mov ax, [es:BDA_TICKS]
    sub ax, bx
    cmp ax, PIT_WANT_TICKS
    jae .ok
    loop .wait
    cli
    mov si, msg_pit_fail
    jmp puts
.ok:
    cli
    mov si, msg_pit_ok
    jmp puts

; ---- (b) RTC periodic interrupt through the slave PIC ----
test_rtc:
    cli
    xor ax, ax
    mov es, ax
    mov word [es:RTC_COUNT], 0
    ; save and replace the IRQ 8 vector
    push word [es:RTC_VECTOR * 4]
    push word [es:RTC_VECTOR * 4 + 2]
    mov word [es:RTC_VECTOR * 4], rtc_isr
    mov [es:RTC_VECTOR * 4 + 2], cs
    ; save PIC masks
    in al, 0xa1
    mov ah, al
    in al, 0x21
    push ax
    ; save RTC registers A and B
    mov al, 0x0a
    call cmos_read
    mov dl, al
    mov al, 0x0b
    call cmos_read
    mov dh, al
    push dx
    ; 1024 Hz periodic rate, flags cleared, PIE on
    mov al, dl
    and al, 0xf0
    or al, 0x06
    mov ah, al
    mov al, 0x0a
    call cmos_write
    mov al, 0x0c
    call cmos_read
    mov ah, dh
    or ah, 0x40
    mov al, 0x0b
    call cmos_write
    ; unmask IRQ 2 (cascade) on the master and IRQ 8 on the slave
    in al, 0xa1
    and al, 0xfe
    out 0xa1, al
    in al, 0x21
    and al, 0xfb
    out 0x21, al

    mov ax, BDA_SEG
    mov fs, ax
    mov bx, [fs:BDA_TICKS]
    sti
.wait:
    hlt
    cmp word [es:RTC_COUNT], RTC_WANT
    jae .done
    mov ax, [fs:BDA_TICKS]
    sub ax, bx
    cmp ax, RTC_MAX_TICKS
    jb .wait
.done:
    cli
    mov cx, [es:RTC_COUNT]
    ; restore register B (PIE off), drop a pending flag, restore A
    pop dx
    mov ah, dh
    mov al, 0x0b
    call cmos_write
    mov al, 0x0c
    call cmos_read
    mov ah, dl
    mov al, 0x0a
    call cmos_write
    ; restore PIC masks and the vector
    pop ax
    out 0x21, al
    mov al, ah
    out 0xa1, al
    pop word [es:RTC_VECTOR * 4 + 2]
    pop word [es:RTC_VECTOR * 4]

    mov si, msg_rtc_ok
    cmp cx, RTC_WANT
    jae .print
    mov si, msg_rtc_fail
.print:
    jmp puts

rtc_isr:
    push ax
    push ds
    mov al, 0x0c                        ; reading C acknowledges the RTC
    out CMOS_INDEX, al
    in al, CMOS_DATA
    xor ax, ax
    mov ds, ax
    inc word [RTC_COUNT]
    mov al, 0x20                        ; EOI to the slave, then the master
    out 0xa0, al
    out 0x20, al
    pop ds
    pop ax
    iret

; ---- (d) ACPI RSDP: "RSD PTR " on a 16-byte boundary in E0000-FFFFF, checksum 0 ----
test_rsdp:
    mov ax, 0xe000
.segment:
    mov es, ax
    xor di, di
.probe:
    cmp dword [es:di], 'RSD '
    jne .skip
    cmp dword [es:di + 4], 'PTR '
    jne .skip
    xor bx, bx                          ; ACPI 1.0 checksum covers 20 bytes
    xor al, al
.sum:
    add al, [es:di + bx]
    inc bx
    cmp bx, 20
    jb .sum
    test al, al
    jz .found
.skip:
    add di, 16
    jnz .probe
    mov ax, es
    cmp ax, 0xf000
    mov ax, 0xf000
    jb .segment
    mov si, msg_rsdp_fail
    jmp puts
.found:
    mov si, msg_rsdp_ok
    call puts_noeol
    mov cx, 6
    lea bx, [di + 9]                    ; OEM ID
.oem:
    mov al, [es:bx]
    call putc
    inc bx
    loop .oem
    mov si, msg_rsdp_rev
    call puts_noeol
    mov al, [es:di + 15]
    add al, '0'
    call putc
    mov si, msg_empty
    jmp puts

; ---- (c) resets and power-off, one per boot ----
next_stage:
    mov al, CMOS_STAGE
    call cmos_read
    cmp al, 1
    je .stage1
    cmp al, 2
    je .stage2
.stage0:
    mov si, msg_stage0
    call puts
    mov ah, 1
    call set_stage
    mov dx, 0xcf9
    mov al, 0x02                        ; select hard reset ...
    out dx, al
    mov al, 0x06                        ; ... and pull it
    out dx, al
    jmp hang
.stage1:
    mov si, msg_stage1
    call puts
    mov ah, 2
    call set_stage
    mov al, 0xfe                        ; pulse the CPU reset line
    out 0x64, al
    jmp hang
.stage2:
    mov si, msg_stage2
    call puts
    mov ah, 0
    call set_stage
    mov eax, PM_CONFIG_ADDR
    mov dx, 0xcf8
    out dx, eax
    mov dx, 0xcfc
    in eax, dx
    and ax, 0xffc0                      ; PMBA: I/O space, 64-byte aligned
    jz .nopm
    add ax, 4                           ; PM1a_CNT
    mov dx, ax
    mov ax, 0x2000                      ; SLP_EN, SLP_TYP = 0 (soft off on PIIX4)
    out dx, ax
    jmp hang
.nopm:
    mov si, msg_nopm
    call puts
hang:
    mov si, msg_hang
    call puts
.loop:
    cli
    hlt
    jmp .loop

; ah = stage
set_stage:
    mov al, CMOS_STAGE
    ; fall through

; al = index, ah = value
cmos_write:
    out CMOS_INDEX, al
    mov al, ah
    out CMOS_DATA, al
    ret

; al = index -> al = value
cmos_read:
    out CMOS_INDEX, al
    in al, CMOS_DATA
    ret

; ds:si = NUL-terminated string, sent on COM1 with a CR LF
puts:
    call puts_noeol
    push ax
    push dx
    mov al, 13
    call putc
    mov al, 10
    call putc
    pop dx
    pop ax
    ret

; ds:si = NUL-terminated string, sent on COM1 as is
puts_noeol:
    push ax
    push dx
.next:
    lodsb
    test al, al
    jz .done
    call putc
    jmp .next
.done:
    pop dx
    pop ax
    ret

putc:
    push cx
    mov ah, al
    mov dx, COM1 + 5
    mov cx, 0xffff                      ; bounded: a missing UART must not hang the ROM
.busy:
    in al, dx
    test al, 0x20
    jnz .ready
    loop .busy
.ready:
    mov dx, COM1
    mov al, ah
    out dx, al
    pop cx
    ret

msg_start:      db "pc-selftest: start", 0
msg_pit_ok:     db "PIT OK", 0
msg_pit_fail:   db "PIT FAIL", 0
msg_rtc_ok:     db "RTC OK", 0
msg_rtc_fail:   db "RTC FAIL", 0
msg_stage0:     db "STAGE0 reset via 0xCF9", 0
msg_stage1:     db "STAGE1 reset via i8042", 0
msg_stage2:     db "STAGE2 poweroff via ACPI S5", 0
msg_rsdp_ok:    db "ACPI RSDP OK oem=", 0
msg_rsdp_rev:   db " rev=", 0
msg_rsdp_fail:  db "ACPI RSDP FAIL", 0
msg_empty:      db 0
msg_nopm:       db "PM base not set", 0
msg_hang:       db "pc-selftest: waiting", 0

    times ROM_BLOCKS * 512 - 1 - ($ - $$) db 0
checksum:
    db 0                                ; romsum.py makes the bytes sum to 0

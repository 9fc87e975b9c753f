; SPDX-License-Identifier: GPL-3.0-or-later
;
; fwcfg-linuxboot: a SeaBIOS option ROM that boots a bzImage the VMM put into fw_cfg
; (the QEMU-compatible keys SETUP_*, KERNEL_*, INITRD_*, CMDLINE_*: the board does this for
; --kernel images without a 64-bit entry, e.g. iPXE's ipxe.lkrn, which need BIOS services).
; The board has already patched the setup header (loader type, command line pointer,
; initrd, heap end); this ROM only copies the four blobs with fw_cfg DMA to the addresses
; the board chose and jumps to the real-mode setup code, like a boot loader would.
;
; POST: the init entry hooks INT 19h (bootstrap). At INT 19h: without a kernel in fw_cfg
; it chains to the previous INT 19h handler, so the firmware boots as usual.
;
; Build: nasm -f bin -o fwcfg-linuxboot.bin fwcfg-linuxboot.asm && romsum.py fwcfg-linuxboot.bin

bits 16
org 0

ROM_BLOCKS      equ 2                   ; 1 KiB
FW_CFG_SEL      equ 0x510
FW_CFG_DATA     equ 0x511
FW_CFG_DMA_HI   equ 0x514
FW_CFG_DMA_LO   equ 0x518
KEY_KERNEL_ADDR equ 0x07
KEY_KERNEL_SIZE equ 0x08
KEY_INITRD_ADDR equ 0x0a
KEY_INITRD_SIZE equ 0x0b
KEY_KERNEL_DATA equ 0x11
KEY_INITRD_DATA equ 0x12
KEY_CMDLINE_ADDR equ 0x13
KEY_CMDLINE_SIZE equ 0x14
KEY_CMDLINE_DATA equ 0x15
KEY_SETUP_ADDR  equ 0x16
KEY_SETUP_SIZE  equ 0x17
KEY_SETUP_DATA  equ 0x18
DMA_READ_SELECT equ 0x0a                ; SELECT | READ
DMA_ERROR       equ 0x01
DMA_AREA        equ 0x7000              ; 0000:7000, free conventional memory at boot time
DEBUGCON        equ 0x402                ; progress for the firmware debug log

header:
    db 0x55, 0xaa
    db ROM_BLOCKS
    jmp near init

init:
    push ds
    push eax
    xor ax, ax
    mov ds, ax
    mov eax, [0x19 * 4]
    mov [cs:old_int19], eax             ; the ROM is still writable shadow RAM during POST
    mov word [0x19 * 4], int19
    mov [0x19 * 4 + 2], cs
    pop eax
    pop ds
    retf

; Prints the NUL-terminated string at CS:SI to the debug port. Clobbers AL, DX, SI.
dbg:
    mov dx, DEBUGCON
.next:
    cs lodsb
    test al, al
    jz .done
    out dx, al
    jmp .next
.done:
    ret

; In: AX = key. Out: EAX = 32-bit little-endian item value. Clobbers DX.
read32:
    mov dx, FW_CFG_SEL
    out dx, ax
    mov dx, FW_CFG_DATA
    xor eax, eax
    in al, dx
    ror eax, 8
    in al, dx
    ror eax, 8
    in al, dx
    ror eax, 8
    in al, dx
    ror eax, 8
    ret

; In: AX = key, ECX = length, EDI = guest-physical destination. DS = 0. Out: CF on error.
dma_read:
    jecxz .done
    movzx eax, ax
    shl eax, 16
    or eax, DMA_READ_SELECT
    bswap eax
    mov [DMA_AREA], eax
    mov eax, ecx
    bswap eax
    mov [DMA_AREA + 4], eax
    mov dword [DMA_AREA + 8], 0
    mov eax, edi
    bswap eax
    mov [DMA_AREA + 12], eax
    mov dx, FW_CFG_DMA_HI
    xor eax, eax
    out dx, eax
    mov dx, FW_CFG_DMA_LO
    mov eax, DMA_AREA
    bswap eax
    out dx, eax                         ; the low half starts the transfer
.wait:
    mov eax, [DMA_AREA]
    bswap eax
    test eax, ~DMA_ERROR
    jnz .wait
    test eax, DMA_ERROR
    jnz .fail
.done:
    clc
    ret
.fail:
    stc
    ret

; Loads one blob: BX = data key, SI = address key, BP = size key.
load_blob:
    mov ax, bp
    call read32
    mov ecx, eax
    mov ax, si
    call read32
    mov edi, eax
    mov ax, bx
    jmp dma_read

int19:
    cli
    cld
    xor ax, ax
    mov ds, ax
    mov ax, KEY_SETUP_SIZE
    call read32
    test eax, eax
    jz .chain
    mov si, msg_load
    call dbg
    mov bx, KEY_SETUP_DATA
    mov si, KEY_SETUP_ADDR
    mov bp, KEY_SETUP_SIZE
    call load_blob
    jc .fail
    mov bx, KEY_KERNEL_DATA
    mov si, KEY_KERNEL_ADDR
    mov bp, KEY_KERNEL_SIZE
    call load_blob
    jc .fail
    mov bx, KEY_INITRD_DATA
    mov si, KEY_INITRD_ADDR
    mov bp, KEY_INITRD_SIZE
    call load_blob
    jc .fail
    mov bx, KEY_CMDLINE_DATA
    mov si, KEY_CMDLINE_ADDR
    mov bp, KEY_CMDLINE_SIZE
    call load_blob
    jc .fail
    mov si, msg_start
    call dbg
    ; Real-mode entry: all segments = setup segment, stack just below 64 KiB of it,
    ; CS:IP = setup segment + 0x20 : 0 (boot protocol, "Running the kernel").
    mov ax, KEY_SETUP_ADDR
    call read32
    shr eax, 4
    mov ds, ax
    mov es, ax
    mov fs, ax
    mov gs, ax
    mov ss, ax
    mov sp, 0xfff0
    add ax, 0x20
    push ax
    push word 0
    retf
.fail:
    mov si, msg_fail
    call dbg
.chain:
    jmp far [cs:old_int19]

msg_load:
    db "fwcfg-linuxboot: loading the kernel from fw_cfg", 10, 0
msg_start:
    db "fwcfg-linuxboot: starting the kernel's real-mode setup", 10, 0
msg_fail:
    db "fwcfg-linuxboot: fw_cfg DMA failed", 10, 0

old_int19:
    dd 0

    times ROM_BLOCKS * 512 - ($ - $$) db 0

/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Boxwood i440FX PC: the fixed part of the namespace. Compiled with iasl at build
 * time into a C array (dsdt.hex). What depends on the VM's configuration -- CPU
 * objects and the PCI MMIO windows -- comes from the SSDT that acpi-build.c
 * generates at run time (names \_SB.W32B/W32E/W64B/W64E).
 */
DefinitionBlock ("", "DSDT", 2, "BOXWD ", "BXWDDSDT", 0x00000001)
{
    External (\_SB.W32B, IntObj)
    External (\_SB.W32E, IntObj)
    External (\_SB.W64B, IntObj)
    External (\_SB.W64E, IntObj)

    /* Interrupt model chosen by the OS (0 PIC, 1 APIC). PIIX routes INTx the same way in
     * both, so it is only remembered. */
    Name (PICF, Zero)
    Method (_PIC, 1, NotSerialized)
    {
        PICF = Arg0
    }

    /* Only S5 (soft off): SLP_TYP 0 in PM1a_CNT. */
    Name (_S5, Package (0x04) { Zero, Zero, Zero, Zero })

    Scope (\_SB)
    {
        Device (PCI0)
        {
            Name (_HID, EisaId ("PNP0A03"))
            Name (_UID, Zero)
            Name (_BBN, Zero)

            /* Bus numbers, config ports, the I/O space around them, the legacy VGA hole and
             * the MMIO windows handed to PCI devices. */
            Method (_CRS, 0, Serialized)
            {
                Name (RBUF, ResourceTemplate ()
                {
                    WordBusNumber (ResourceProducer, MinFixed, MaxFixed, PosDecode,
                        0x0000, 0x0000, 0x00FF, 0x0000, 0x0100,,,)
                    IO (Decode16, 0x0CF8, 0x0CF8, 0x01, 0x08,)
                    WordIO (ResourceProducer, MinFixed, MaxFixed, PosDecode, EntireRange,
                        0x0000, 0x0000, 0x0CF7, 0x0000, 0x0CF8,,,, TypeStatic)
                    WordIO (ResourceProducer, MinFixed, MaxFixed, PosDecode, EntireRange,
                        0x0000, 0x0D00, 0xFFFF, 0x0000, 0xF300,,,, TypeStatic)
                    DWordMemory (ResourceProducer, PosDecode, MinFixed, MaxFixed, Cacheable,
                        ReadWrite, 0x00000000, 0x000A0000, 0x000BFFFF, 0x00000000, 0x00020000,,,,
                        AddressRangeMemory, TypeStatic)
                    DWordMemory (ResourceProducer, PosDecode, MinFixed, MaxFixed, NonCacheable,
                        ReadWrite, 0x00000000, 0xE0000000, 0xFEBFFFFF, 0x00000000, 0x1EC00000,,,
                        PW32, AddressRangeMemory, TypeStatic)
                })
                CreateDWordField (RBUF, \_SB.PCI0._CRS.PW32._MIN, P3MN)
                CreateDWordField (RBUF, \_SB.PCI0._CRS.PW32._MAX, P3MX)
                CreateDWordField (RBUF, \_SB.PCI0._CRS.PW32._LEN, P3LN)
                P3MN = \_SB.W32B
                P3MX = \_SB.W32E
                P3LN = ((P3MX - P3MN) + One)

                /* The 64-bit window exists only when the board configured one. */
                If ((\_SB.W64E > \_SB.W64B))
                {
                    Name (R64, ResourceTemplate ()
                    {
                        QWordMemory (ResourceProducer, PosDecode, MinFixed, MaxFixed, Cacheable,
                            ReadWrite, 0x0000000000000000, 0x0000000100000000,
                            0x00000001FFFFFFFF, 0x0000000000000000, 0x0000000100000000,,,
                            PW64, AddressRangeMemory, TypeStatic)
                    })
                    CreateQWordField (R64, \_SB.PCI0._CRS.PW64._MIN, P6MN)
                    CreateQWordField (R64, \_SB.PCI0._CRS.PW64._MAX, P6MX)
                    CreateQWordField (R64, \_SB.PCI0._CRS.PW64._LEN, P6LN)
                    P6MN = \_SB.W64B
                    P6MX = \_SB.W64E
                    P6LN = ((P6MX - P6MN) + One)
                    ConcatenateResTemplate (RBUF, R64, Local0)
                    Return (Local0)
                }
                Return (RBUF)
            }

            /*
             * INTx routing: device D, pin P (0 = INTA) goes to PIRQ (D + P - 1) mod 4, the
             * PIIX3 swizzle SeaBIOS programs. Function 00:01.3 (PM) uses INTA of slot 1,
             * which is the SCI on its own link.
             */
            Method (_PRT, 0, NotSerialized)
            {
                Local0 = Package (0x80) {}
                Local1 = Zero
                While ((Local1 < 0x80))
                {
                    Local2 = (Local1 >> 0x02)
                    Local3 = (Local1 & 0x03)
                    Local4 = ((Local2 + Local3 + 0x03) & 0x03)
                    If ((Local1 == 0x04))
                    {
                        Local5 = Package (0x04) { Zero, Zero, LNKS, Zero }
                    }
                    ElseIf ((Local4 == Zero))
                    {
                        Local5 = Package (0x04) { Zero, Zero, LNKA, Zero }
                    }
                    ElseIf ((Local4 == One))
                    {
                        Local5 = Package (0x04) { Zero, Zero, LNKB, Zero }
                    }
                    ElseIf ((Local4 == 0x02))
                    {
                        Local5 = Package (0x04) { Zero, Zero, LNKC, Zero }
                    }
                    Else
                    {
                        Local5 = Package (0x04) { Zero, Zero, LNKD, Zero }
                    }
                    Local5 [Zero] = ((Local2 << 0x10) | 0xFFFF)
                    Local5 [One] = Local3
                    Local0 [Local1] = Local5
                    Local1++
                }
                Return (Local0)
            }

            /* PIIX3 ISA bridge, 00:01.0. */
            Device (ISA)
            {
                Name (_ADR, 0x00010000)

                /* PIRQA..D route control: bits 3:0 the ISA IRQ, bit 7 set = disabled. */
                OperationRegion (PIRQ, PCI_Config, 0x60, 0x04)
                Field (PIRQ, ByteAcc, NoLock, Preserve)
                {
                    PRQA, 8,
                    PRQB, 8,
                    PRQC, 8,
                    PRQD, 8
                }

                Device (KBD)
                {
                    Name (_HID, EisaId ("PNP0303"))
                    Name (_STA, 0x0F)
                    Name (_CRS, ResourceTemplate ()
                    {
                        IO (Decode16, 0x0060, 0x0060, 0x01, 0x01,)
                        IO (Decode16, 0x0064, 0x0064, 0x01, 0x01,)
                        IRQNoFlags () {1}
                    })
                }

                Device (MOU)
                {
                    Name (_HID, EisaId ("PNP0F13"))
                    Name (_STA, 0x0F)
                    Name (_CRS, ResourceTemplate ()
                    {
                        IRQNoFlags () {12}
                    })
                }

                Device (RTC)
                {
                    Name (_HID, EisaId ("PNP0B00"))
                    Name (_CRS, ResourceTemplate ()
                    {
                        IO (Decode16, 0x0070, 0x0070, 0x01, 0x02,)
                        IRQNoFlags () {8}
                    })
                }

                Device (COM1)
                {
                    Name (_HID, EisaId ("PNP0501"))
                    Name (_UID, One)
                    Name (_STA, 0x0F)
                    Name (_CRS, ResourceTemplate ()
                    {
                        IO (Decode16, 0x03F8, 0x03F8, 0x01, 0x08,)
                        IRQNoFlags () {4}
                    })
                }

                Device (COM2)
                {
                    Name (_HID, EisaId ("PNP0501"))
                    Name (_UID, 0x02)
                    Name (_STA, 0x0F)
                    Name (_CRS, ResourceTemplate ()
                    {
                        IO (Decode16, 0x02F8, 0x02F8, 0x01, 0x08,)
                        IRQNoFlags () {3}
                    })
                }

                Device (PIT)
                {
                    Name (_HID, EisaId ("PNP0100"))
                    Name (_CRS, ResourceTemplate ()
                    {
                        IO (Decode16, 0x0040, 0x0040, 0x01, 0x04,)
                        IRQNoFlags () {0}
                    })
                }

                Device (PIC)
                {
                    Name (_HID, EisaId ("PNP0000"))
                    Name (_CRS, ResourceTemplate ()
                    {
                        IO (Decode16, 0x0020, 0x0020, 0x01, 0x02,)
                        IO (Decode16, 0x00A0, 0x00A0, 0x01, 0x02,)
                        IO (Decode16, 0x04D0, 0x04D0, 0x01, 0x02,)
                        IRQNoFlags () {2}
                    })
                }

                Device (DMAC)
                {
                    Name (_HID, EisaId ("PNP0200"))
                    Name (_CRS, ResourceTemplate ()
                    {
                        IO (Decode16, 0x0000, 0x0000, 0x01, 0x10,)
                        IO (Decode16, 0x0081, 0x0081, 0x01, 0x0F,)
                        IO (Decode16, 0x00C0, 0x00C0, 0x01, 0x20,)
                        DMA (Compatibility, NotBusMaster, Transfer8_16,) {4}
                    })
                }

                Device (SPKR)
                {
                    Name (_HID, EisaId ("PNP0800"))
                    Name (_CRS, ResourceTemplate ()
                    {
                        IO (Decode16, 0x0061, 0x0061, 0x01, 0x01,)
                    })
                }
            }

            /* The fw_cfg ports, so Linux's qemu_fw_cfg driver finds them. */
            Device (FWCF)
            {
                Name (_HID, "QEMU0002")
                Name (_STA, 0x0B)
                Name (_CRS, ResourceTemplate ()
                {
                    IO (Decode16, 0x0510, 0x0510, 0x01, 0x0C,)
                })
            }
        }

        /* Link status and current setting from a PIRQ register value. */
        Method (LSTA, 1, NotSerialized)
        {
            If ((Arg0 & 0x80))
            {
                Return (0x09)
            }
            Return (0x0B)
        }

        Method (LCRS, 1, Serialized)
        {
            Name (RBUF, ResourceTemplate ()
            {
                Interrupt (ResourceConsumer, Level, ActiveHigh, Shared,,, LIRQ) { 0 }
            })
            CreateDWordField (RBUF, \_SB.LCRS.LIRQ._INT, LINT)
            If (!(Arg0 & 0x80))
            {
                LINT = (Arg0 & 0x0F)
            }
            Return (RBUF)
        }

        Device (LNKA)
        {
            Name (_HID, EisaId ("PNP0C0F"))
            Name (_UID, Zero)
            Name (_PRS, ResourceTemplate ()
            {
                Interrupt (ResourceConsumer, Level, ActiveHigh, Shared,,,) { 5, 10, 11 }
            })
            Method (_STA, 0, NotSerialized) { Return (LSTA (\_SB.PCI0.ISA.PRQA)) }
            Method (_CRS, 0, NotSerialized) { Return (LCRS (\_SB.PCI0.ISA.PRQA)) }
            Method (_DIS, 0, NotSerialized) { \_SB.PCI0.ISA.PRQA |= 0x80 }
            Method (_SRS, 1, NotSerialized)
            {
                CreateDWordField (Arg0, 0x05, IRQW)
                \_SB.PCI0.ISA.PRQA = (IRQW & 0x0F)
            }
        }

        Device (LNKB)
        {
            Name (_HID, EisaId ("PNP0C0F"))
            Name (_UID, One)
            Name (_PRS, ResourceTemplate ()
            {
                Interrupt (ResourceConsumer, Level, ActiveHigh, Shared,,,) { 5, 10, 11 }
            })
            Method (_STA, 0, NotSerialized) { Return (LSTA (\_SB.PCI0.ISA.PRQB)) }
            Method (_CRS, 0, NotSerialized) { Return (LCRS (\_SB.PCI0.ISA.PRQB)) }
            Method (_DIS, 0, NotSerialized) { \_SB.PCI0.ISA.PRQB |= 0x80 }
            Method (_SRS, 1, NotSerialized)
            {
                CreateDWordField (Arg0, 0x05, IRQW)
                \_SB.PCI0.ISA.PRQB = (IRQW & 0x0F)
            }
        }

        Device (LNKC)
        {
            Name (_HID, EisaId ("PNP0C0F"))
            Name (_UID, 0x02)
            Name (_PRS, ResourceTemplate ()
            {
                Interrupt (ResourceConsumer, Level, ActiveHigh, Shared,,,) { 5, 10, 11 }
            })
            Method (_STA, 0, NotSerialized) { Return (LSTA (\_SB.PCI0.ISA.PRQC)) }
            Method (_CRS, 0, NotSerialized) { Return (LCRS (\_SB.PCI0.ISA.PRQC)) }
            Method (_DIS, 0, NotSerialized) { \_SB.PCI0.ISA.PRQC |= 0x80 }
            Method (_SRS, 1, NotSerialized)
            {
                CreateDWordField (Arg0, 0x05, IRQW)
                \_SB.PCI0.ISA.PRQC = (IRQW & 0x0F)
            }
        }

        Device (LNKD)
        {
            Name (_HID, EisaId ("PNP0C0F"))
            Name (_UID, 0x03)
            Name (_PRS, ResourceTemplate ()
            {
                Interrupt (ResourceConsumer, Level, ActiveHigh, Shared,,,) { 5, 10, 11 }
            })
            Method (_STA, 0, NotSerialized) { Return (LSTA (\_SB.PCI0.ISA.PRQD)) }
            Method (_CRS, 0, NotSerialized) { Return (LCRS (\_SB.PCI0.ISA.PRQD)) }
            Method (_DIS, 0, NotSerialized) { \_SB.PCI0.ISA.PRQD |= 0x80 }
            Method (_SRS, 1, NotSerialized)
            {
                CreateDWordField (Arg0, 0x05, IRQW)
                \_SB.PCI0.ISA.PRQD = (IRQW & 0x0F)
            }
        }

        /* The SCI: hard-wired to IRQ 9, cannot be moved or disabled. */
        Device (LNKS)
        {
            Name (_HID, EisaId ("PNP0C0F"))
            Name (_UID, 0x04)
            Name (_PRS, ResourceTemplate ()
            {
                Interrupt (ResourceConsumer, Level, ActiveHigh, Shared,,,) { 9 }
            })
            Method (_STA, 0, NotSerialized) { Return (0x0B) }
            Method (_CRS, 0, NotSerialized) { Return (_PRS) }
            Method (_DIS, 0, NotSerialized) { }
            Method (_SRS, 1, NotSerialized) { }
        }
    }
}

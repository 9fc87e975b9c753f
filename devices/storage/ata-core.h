/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The ATA/ATAPI drive shared by the IDE and AHCI controllers: the task file, the
 * command state machine (ATA/ATAPI-6 command set, MMC for the CD-ROM) and the data
 * buffer. The controller moves data: IDE through the data port (PIO) or its bus
 * master (DMA), AHCI always through the command table's PRDT.
 *
 * Threads and locks: every function here is called with the controller's device
 * lock held (the one passed to ata_drive_init), from a vCPU thread or from a block
 * completion callback, which takes that lock itself. Disk I/O is never waited for:
 * the drive reports BSY until the block layer completes, then DRQ or the final status.
 */
#pragma once

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

#include "devices/block/block.h"

typedef struct AtaDrive AtaDrive;

/* Status register. */
#define ATA_STAT_ERR 0x01
#define ATA_STAT_DRQ 0x08
#define ATA_STAT_DSC 0x10
#define ATA_STAT_DF 0x20
#define ATA_STAT_DRDY 0x40
#define ATA_STAT_BSY 0x80
/* Error register. */
#define ATA_ERR_ABRT 0x04
#define ATA_ERR_IDNF 0x10
#define ATA_ERR_UNC 0x40
/* ATAPI interrupt reason (sector count register). */
#define ATAPI_INTR_COD 0x01
#define ATAPI_INTR_IO 0x02

#define ATA_SECTOR_SIZE 512u
#define ATAPI_SECTOR_SIZE 2048u
/* Data buffer: the largest chunk read or written at once. */
#define ATA_BUF_SIZE (128u * 1024u)
/* DATA SET MANAGEMENT: 512-byte blocks of TRIM ranges per command (IDENTIFY word 105). */
#define ATA_DSM_MAX_BLOCKS 8u

/* Sense keys (SPC). */
#define SENSE_NONE 0x00
#define SENSE_NOT_READY 0x02
#define SENSE_ILLEGAL_REQUEST 0x05
#define SENSE_UNIT_ATTENTION 0x06

typedef enum {
    ATA_MEDIA_DISK = 0,
    ATA_MEDIA_CDROM,
} AtaMediaKind;

typedef struct {
    /*
     * Required: the drive asserts its interrupt (INTRQ): a command finished or a PIO
     * data block is ready. The controller decides whether that reaches the guest.
     */
    void (*irq)(void *opaque, AtaDrive *d);
    /*
     * Required for DMA: move up to @len bytes between @buf and guest memory (@to_guest
     * for data-in). Returns the bytes moved (fewer when the descriptor list ran out),
     * -EAGAIN while the controller's DMA engine is not running (it then calls
     * ata_dma_restart() once started), or -errno on a descriptor or memory error.
     */
    int (*dma_rw)(void *opaque, AtaDrive *d, uint8_t *buf, uint32_t len, bool to_guest);
    /* Optional: the command finished (status and error are final). */
    void (*done)(void *opaque, AtaDrive *d);
} AtaOps;

typedef enum {
    ATA_XFER_NONE = 0,
    ATA_XFER_IN,  /* device to host */
    ATA_XFER_OUT, /* host to device */
} AtaXferDir;

typedef void (*AtaStepFunc)(AtaDrive *d);
typedef void (*AtaIoDoneFunc)(AtaDrive *d, int ret);

struct AtaDrive {
    /* Configuration (realize time). */
    bool present;
    AtaMediaKind kind;
    bool read_only;
    bool dma_only; /* AHCI: every data phase goes through ops->dma_rw */
    char serial[21];
    char model[41];
    GMutex *lock;      /* Borrowed: the controller's device lock */
    void *io;          /* Borrowed VmmIoThread *, for block_open() */
    const AtaOps *ops; /* Borrowed */
    void *opaque;      /* Borrowed */

    /* Medium. */
    BlockDev *bd;         /* Owned, NULL when empty */
    BlockDev *stale_bd;   /* Owned: ejected by the guest with requests in flight */
    uint64_t sectors;     /* capacity in units of the sector size */
    uint32_t sector_size; /* 512 for disks, 2048 for the CD-ROM */

    /* Task file (HOB: the previous value of each register, for 48-bit commands). */
    uint8_t feature, nsector, lbal, lbam, lbah;
    uint8_t hob_feature, hob_nsector, hob_lbal, hob_lbam, hob_lbah;
    uint8_t select; /* device register */
    uint8_t status;
    uint8_t error;
    uint8_t command;

    /* Settings. */
    uint8_t mult_sectors;      /* SET MULTIPLE; 0 = disabled */
    uint16_t heads, spt, cyls; /* default and current CHS translation */
    uint8_t xfer_mode;         /* SET FEATURES transfer mode */
    bool write_cache;

    /* Data phase. */
    uint8_t *buf;       /* Owned: ATA_BUF_SIZE (+ slack) */
    uint32_t buf_len;   /* bytes of the current window */
    uint32_t buf_pos;   /* next byte the host moves */
    uint32_t drq_end;   /* end of the current PIO DRQ block */
    uint32_t drq_bytes; /* PIO DRQ block size */
    AtaXferDir dir;
    bool dma;           /* this command's data moves by DMA */
    bool last_dma;      /* the command that just finished moved data by DMA */
    bool dma_waiting;   /* data ready but the DMA engine is not started */
    bool irq_on_drq;    /* raise INTRQ with the next PIO block */
    AtaStepFunc step;   /* runs when the window has been moved */
    uint64_t lba;       /* next sector of a read/write command */
    uint32_t remaining; /* sectors left */
    uint32_t chunk;     /* sectors in the current window */
    uint32_t dma_bytes; /* bytes moved by DMA for this command */

    /* Asynchronous I/O. */
    unsigned gen; /* bumped on reset/eject: older completions are dropped */
    unsigned inflight;
    AtaIoDoneFunc io_done;

    /* ATAPI. */
    uint8_t packet[12];
    uint8_t sense_key, asc, ascq;
    bool unit_attention;
    bool locked;      /* PREVENT MEDIUM REMOVAL */
    bool media_event; /* media changed since the last GET EVENT STATUS */
    uint8_t media_event_code;
    bool eject_request;
};

/*
 * Sets up a drive. @present false makes an empty position. Opens @path (may be NULL
 * for an empty CD-ROM) with @format; CD-ROMs are always read-only.
 */
bool ata_drive_init(AtaDrive *d, bool present, AtaMediaKind kind, const char *path,
                    BlockFormat format, bool read_only, const char *serial, GMutex *lock, void *io,
                    const AtaOps *ops, void *opaque, GError **error);
/* Closes the medium and frees the buffer. Call without the lock held. */
void ata_drive_cleanup(AtaDrive *d);
/* Power-on / hardware reset: aborts any command, loads the signature. */
void ata_drive_reset(AtaDrive *d);
/* Soft reset (SRST / COMRESET): same as reset but keeps the settings a host made. */
void ata_drive_soft_reset(AtaDrive *d);
/* Loads the signature (ATA: 01/01/00/00, ATAPI: 01/01/14/EB) into the task file. */
void ata_set_signature(AtaDrive *d);

/* Executes the command in the task file (IDE: write to the command register). */
void ata_exec_command(AtaDrive *d, uint8_t cmd);
/* AHCI: the ATAPI packet of the next PACKET command (from the command table). */
void ata_set_packet(AtaDrive *d, const uint8_t packet[12]);

/* PIO data port: @size 2 or 4 bytes. */
uint32_t ata_data_read(AtaDrive *d, unsigned size);
void ata_data_write(AtaDrive *d, uint32_t value, unsigned size);

/* The controller's DMA engine started: continue a data phase waiting for it. */
void ata_dma_restart(AtaDrive *d);
/* True while a command is being executed (BSY or DRQ). */
bool ata_busy(AtaDrive *d);

/*
 * Media change for a CD-ROM (device lock NOT held; takes it). @path NULL ejects.
 * Inserting raises UNIT ATTENTION (medium may have changed) for the next command.
 */
bool ata_change_media(AtaDrive *d, const char *path, BlockFormat format, GError **error);
/* Parses "auto"/"raw"/"vdi" (NULL = auto). */
bool ata_parse_format(const char *s, BlockFormat *out, GError **error);
/* Parses "disk"/"cdrom" (NULL = disk). */
bool ata_parse_media(const char *s, AtaMediaKind *out, GError **error);

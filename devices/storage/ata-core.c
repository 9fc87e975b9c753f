/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * ATA/ATAPI drive state machine (see ata-core.h). Every guest-supplied LBA and
 * count is checked against the medium before the block layer sees it; commands
 * the drive does not know are aborted, never fatal.
 */
#define G_LOG_DOMAIN "ata"
#include <errno.h>
#include <gio/gio.h>
#include <string.h>

#include "devices/storage/ata-core.h"
#include "vmm/log.h"

/* ATA commands. */
#define CMD_NOP 0x00
#define CMD_DSM 0x06
#define CMD_DEVICE_RESET 0x08
#define CMD_RECALIBRATE 0x10
#define CMD_READ_SECTORS 0x20
#define CMD_READ_SECTORS_NR 0x21
#define CMD_READ_SECTORS_EXT 0x24
#define CMD_READ_DMA_EXT 0x25
#define CMD_READ_NATIVE_MAX_EXT 0x27
#define CMD_READ_MULTIPLE_EXT 0x29
#define CMD_WRITE_SECTORS 0x30
#define CMD_WRITE_SECTORS_NR 0x31
#define CMD_WRITE_SECTORS_EXT 0x34
#define CMD_WRITE_DMA_EXT 0x35
#define CMD_WRITE_MULTIPLE_EXT 0x39
#define CMD_WRITE_DMA_FUA_EXT 0x3d
#define CMD_READ_VERIFY 0x40
#define CMD_READ_VERIFY_NR 0x41
#define CMD_READ_VERIFY_EXT 0x42
#define CMD_SEEK 0x70
#define CMD_EXEC_DIAGNOSTIC 0x90
#define CMD_INIT_DEV_PARAMS 0x91
#define CMD_PACKET 0xa0
#define CMD_IDENTIFY_PACKET 0xa1
#define CMD_READ_MULTIPLE 0xc4
#define CMD_WRITE_MULTIPLE 0xc5
#define CMD_SET_MULTIPLE 0xc6
#define CMD_READ_DMA 0xc8
#define CMD_READ_DMA_NR 0xc9
#define CMD_WRITE_DMA 0xca
#define CMD_WRITE_DMA_NR 0xcb
#define CMD_WRITE_MULTIPLE_FUA_EXT 0xce
#define CMD_STANDBY_IMMEDIATE 0xe0
#define CMD_IDLE_IMMEDIATE 0xe1
#define CMD_STANDBY 0xe2
#define CMD_IDLE 0xe3
#define CMD_CHECK_POWER_MODE 0xe5
#define CMD_SLEEP 0xe6
#define CMD_FLUSH_CACHE 0xe7
#define CMD_FLUSH_CACHE_EXT 0xea
#define CMD_IDENTIFY 0xec
#define CMD_SET_FEATURES 0xef
#define CMD_READ_NATIVE_MAX 0xf8

/* MMC commands. */
#define MMC_TEST_UNIT_READY 0x00
#define MMC_REQUEST_SENSE 0x03
#define MMC_INQUIRY 0x12
#define MMC_MODE_SELECT_6 0x15
#define MMC_MODE_SENSE_6 0x1a
#define MMC_START_STOP_UNIT 0x1b
#define MMC_PREVENT_ALLOW 0x1e
#define MMC_READ_CAPACITY 0x25
#define MMC_READ_10 0x28
#define MMC_SEEK_10 0x2b
#define MMC_SYNC_CACHE 0x35
#define MMC_READ_TOC 0x43
#define MMC_GET_CONFIGURATION 0x46
#define MMC_GET_EVENT_STATUS 0x4a
#define MMC_READ_DISC_INFO 0x51
#define MMC_MODE_SELECT_10 0x55
#define MMC_MODE_SENSE_10 0x5a
#define MMC_READ_12 0xa8
#define MMC_SET_CD_SPEED 0xbb
#define MMC_MECHANISM_STATUS 0xbd

/* Additional sense codes. */
#define ASC_INVALID_OPCODE 0x20
#define ASC_LBA_OUT_OF_RANGE 0x21
#define ASC_INVALID_FIELD 0x24
#define ASC_MEDIUM_CHANGED 0x28
#define ASC_SAVING_NOT_SUPPORTED 0x39
#define ASC_MEDIUM_NOT_PRESENT 0x3a
#define ASC_REMOVAL_PREVENTED 0x53
#define ASC_READ_ERROR 0x11

#define MAX_MULT_SECTORS 16
#define CD_FRAMES_PER_SEC 75
#define CD_LEAD_IN_FRAMES 150

static void ata_io_submit(AtaDrive *d, bool write, uint32_t bytes, AtaIoDoneFunc done);

/* ---- helpers ------------------------------------------------------------------------------ */

static bool is_atapi(AtaDrive *d)
{
    return d->kind == ATA_MEDIA_CDROM;
}

static void put_be16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static void put_be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static uint16_t get_be16(const uint8_t *p)
{
    return (uint16_t)((p[0] << 8) | p[1]);
}

static uint32_t get_be32(const uint8_t *p)
{
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

static void raise_irq(AtaDrive *d)
{
    d->ops->irq(d->opaque, d);
}

static void reset_xfer(AtaDrive *d)
{
    d->dir = ATA_XFER_NONE;
    d->dma = false;
    d->dma_waiting = false;
    d->irq_on_drq = false;
    d->step = NULL;
    d->buf_len = 0;
    d->buf_pos = 0;
    d->drq_end = 0;
    d->io_done = NULL;
}

/* Final status of a command; @irq false for the few commands that end silently. */
static void finish(AtaDrive *d, uint8_t error, bool irq)
{
    d->last_dma = d->dma;
    reset_xfer(d);
    d->error = error;
    d->status = ATA_STAT_DRDY | ATA_STAT_DSC;
    if (error != 0) {
        d->status |= ATA_STAT_ERR;
    }
    if (is_atapi(d) && d->command == CMD_PACKET) {
        d->nsector = ATAPI_INTR_IO | ATAPI_INTR_COD;
    }
    if (irq) {
        raise_irq(d);
    }
    if (d->ops->done != NULL) {
        d->ops->done(d->opaque, d);
    }
}

static void cmd_ok(AtaDrive *d)
{
    finish(d, 0, true);
}

static void cmd_abort(AtaDrive *d)
{
    finish(d, ATA_ERR_ABRT, true);
}

static void atapi_set_sense(AtaDrive *d, uint8_t key, uint8_t asc, uint8_t ascq)
{
    d->sense_key = key;
    d->asc = asc;
    d->ascq = ascq;
}

/* CHECK CONDITION: the sense key goes to the error register's upper nibble. */
static void atapi_fail(AtaDrive *d, uint8_t key, uint8_t asc, uint8_t ascq)
{
    atapi_set_sense(d, key, asc, ascq);
    finish(d, (uint8_t)(key << 4) | (key == SENSE_ILLEGAL_REQUEST ? ATA_ERR_ABRT : 0), true);
}

static void atapi_ok(AtaDrive *d)
{
    atapi_set_sense(d, SENSE_NONE, 0, 0);
    finish(d, 0, true);
}

/* ---- data phase --------------------------------------------------------------------------- */

static void xfer_run(AtaDrive *d);

/* Moves the window by DMA: the whole of it, or an error when the descriptors run out. */
static void xfer_dma(AtaDrive *d)
{
    while (d->buf_pos < d->buf_len) {
        int n = d->ops->dma_rw(d->opaque, d, d->buf + d->buf_pos, d->buf_len - d->buf_pos,
                               d->dir == ATA_XFER_IN);
        if (n == -EAGAIN) {
            d->dma_waiting = true;
            return;
        }
        if (n <= 0) {
            vmm_guest_error("ata: DMA transfer failed (%d) after %u of %u bytes", n, d->buf_pos,
                            d->buf_len);
            if (is_atapi(d) && d->command == CMD_PACKET) {
                atapi_fail(d, SENSE_ILLEGAL_REQUEST, ASC_INVALID_FIELD, 0);
            } else {
                cmd_abort(d);
            }
            return;
        }
        d->buf_pos += (uint32_t)n;
        d->dma_bytes += (uint32_t)n;
    }
    d->dma_waiting = false;
    if (d->step != NULL) {
        d->step(d);
    }
}

/* Opens the next PIO DRQ block, or runs the step when the window is done. */
static void xfer_pio_next(AtaDrive *d)
{
    uint32_t blk;

    if (d->buf_pos >= d->buf_len) {
        d->status &= (uint8_t)~ATA_STAT_DRQ;
        if (d->step != NULL) {
            d->step(d);
        }
        return;
    }
    blk = MIN(d->buf_len - d->buf_pos, d->drq_bytes);
    d->drq_end = d->buf_pos + blk;
    d->status = ATA_STAT_DRDY | ATA_STAT_DSC | ATA_STAT_DRQ;
    if (is_atapi(d) && d->command == CMD_PACKET) {
        d->lbam = (uint8_t)blk;
        d->lbah = (uint8_t)(blk >> 8);
        d->nsector = d->dir == ATA_XFER_IN ? ATAPI_INTR_IO : 0;
    }
    if (d->irq_on_drq || d->dir == ATA_XFER_IN) {
        raise_irq(d);
    }
    d->irq_on_drq = true;
}

static void xfer_run(AtaDrive *d)
{
    if (d->dma || d->dma_only) {
        d->status = ATA_STAT_DRDY | ATA_STAT_DSC | ATA_STAT_BSY;
        xfer_dma(d);
    } else {
        xfer_pio_next(d);
    }
}

/* Starts moving [0, @len) of the buffer in direction @dir; @step runs when done. */
static void xfer_start(AtaDrive *d, AtaXferDir dir, uint32_t len, AtaStepFunc step)
{
    d->dir = dir;
    d->buf_len = len;
    d->buf_pos = 0;
    d->drq_end = 0;
    d->step = step;
    xfer_run(d);
}

uint32_t ata_data_read(AtaDrive *d, unsigned size)
{
    uint32_t v = 0;

    if (!(d->status & ATA_STAT_DRQ) || d->dir != ATA_XFER_IN || d->dma || d->dma_only) {
        return 0xffffffffu >> (32 - 8 * size);
    }
    for (unsigned i = 0; i < size && d->buf_pos < d->drq_end; i++) {
        v |= (uint32_t)d->buf[d->buf_pos++] << (8 * i);
    }
    if (d->buf_pos >= d->drq_end) {
        xfer_pio_next(d);
    }
    return v;
}

void ata_data_write(AtaDrive *d, uint32_t value, unsigned size)
{
    if (!(d->status & ATA_STAT_DRQ) || d->dir != ATA_XFER_OUT || d->dma || d->dma_only) {
        return;
    }
    for (unsigned i = 0; i < size && d->buf_pos < d->drq_end; i++) {
        d->buf[d->buf_pos++] = (uint8_t)(value >> (8 * i));
    }
    if (d->buf_pos >= d->drq_end) {
        xfer_pio_next(d);
    }
}

void ata_dma_restart(AtaDrive *d)
{
    if (d->dma_waiting) {
        d->dma_waiting = false;
        xfer_dma(d);
    }
}

bool ata_busy(AtaDrive *d)
{
    return (d->status & (ATA_STAT_BSY | ATA_STAT_DRQ)) != 0 || d->inflight > 0;
}

/* ---- asynchronous block I/O --------------------------------------------------------------- */

typedef struct {
    AtaDrive *d; /* Borrowed: outlives requests (block_close waits for them) */
    unsigned gen;
    bool write;
    uint32_t len;
    uint8_t *bounce; /* Owned */
} AtaRequest;

static void ata_io_cb(void *opaque, int ret)
{
    AtaRequest *r = opaque;
    AtaDrive *d = r->d;

    g_mutex_lock(d->lock);
    d->inflight--;
    if (r->gen == d->gen && d->io_done != NULL) {
        AtaIoDoneFunc done = d->io_done;

        d->io_done = NULL;
        if (ret == 0 && !r->write) {
            memcpy(d->buf, r->bounce, r->len);
        }
        done(d, ret);
    }
    g_mutex_unlock(d->lock);
    g_free(r->bounce);
    g_free(r);
}

/*
 * Reads or writes @bytes at d->lba (in units of the sector size) between the block
 * layer and d->buf. The range was validated by the caller; the drive is BSY meanwhile.
 */
static void ata_io_submit(AtaDrive *d, bool write, uint32_t bytes, AtaIoDoneFunc done)
{
    AtaRequest *r;
    struct iovec iov;
    uint64_t offset = d->lba * d->sector_size;
    int ret;

    d->status = ATA_STAT_DRDY | ATA_STAT_DSC | ATA_STAT_BSY;
    if (d->bd == NULL) {
        done(d, -ENOMEDIUM);
        return;
    }
    r = g_new0(AtaRequest, 1);
    r->d = d;
    r->gen = d->gen;
    r->write = write;
    r->len = bytes;
    r->bounce = g_malloc(bytes);
    if (write) {
        memcpy(r->bounce, d->buf, bytes);
    }
    iov.iov_base = r->bounce;
    iov.iov_len = bytes;
    d->io_done = done;
    d->inflight++;
    ret = write ? block_write_async(d->bd, offset, &iov, 1, ata_io_cb, r)
                : block_read_async(d->bd, offset, &iov, 1, ata_io_cb, r);
    if (ret < 0) {
        d->inflight--;
        d->io_done = NULL;
        g_free(r->bounce);
        g_free(r);
        done(d, ret);
    }
}

/* Completion of a request without data (flush, discard). */
static void nodata_cb(void *opaque, int ret)
{
    AtaRequest *r = opaque;
    AtaDrive *d = r->d;

    g_mutex_lock(d->lock);
    d->inflight--;
    if (r->gen == d->gen && d->io_done != NULL) {
        AtaIoDoneFunc done = d->io_done;

        d->io_done = NULL;
        done(d, ret);
    }
    g_mutex_unlock(d->lock);
    g_free(r);
}

static void flush_done(AtaDrive *d, int ret)
{
    finish(d, ret < 0 ? ATA_ERR_ABRT : 0, true);
}

static void ata_flush(AtaDrive *d)
{
    AtaRequest *r;

    if (d->bd == NULL || d->read_only) {
        cmd_ok(d);
        return;
    }
    d->status = ATA_STAT_DRDY | ATA_STAT_DSC | ATA_STAT_BSY;
    r = g_new0(AtaRequest, 1);
    r->d = d;
    r->gen = d->gen;
    d->io_done = flush_done;
    d->inflight++;
    if (block_flush_async(d->bd, nodata_cb, r) < 0) {
        d->inflight--;
        d->io_done = NULL;
        g_free(r);
        cmd_abort(d);
    }
}

/* ---- IDENTIFY ----------------------------------------------------------------------------- */

/* ATA strings: two characters per word, the first in the high byte, space padded. */
static void put_ata_string(uint16_t *words, unsigned first, unsigned nwords, const char *s)
{
    size_t len = strlen(s);

    for (unsigned i = 0; i < nwords * 2; i++) {
        uint8_t c = i < len ? (uint8_t)s[i] : ' ';

        if (i & 1) {
            words[first + i / 2] |= c;
        } else {
            words[first + i / 2] = (uint16_t)(c << 8);
        }
    }
}

static void identify_checksum(uint16_t *w)
{
    uint8_t sum = 0;

    w[255] = 0x00a5;
    for (unsigned i = 0; i < 255; i++) {
        sum = (uint8_t)(sum + (w[i] & 0xff) + (w[i] >> 8));
    }
    sum = (uint8_t)(sum + 0xa5);
    w[255] = (uint16_t)(0x00a5 | ((uint8_t)(-sum) << 8));
}

static void identify_dma_words(AtaDrive *d, uint16_t *w)
{
    w[62] = 0;
    w[63] = 0x0007; /* multiword DMA 0-2 supported */
    w[64] = 0x0003; /* PIO 3 and 4 */
    w[65] = 120;
    w[66] = 120;
    w[67] = 120;
    w[68] = 120;
    w[88] = 0x003f; /* UDMA 0-5 supported */
    if ((d->xfer_mode >> 3) == 4) {
        w[63] |= (uint16_t)(0x100 << (d->xfer_mode & 7));
    } else if ((d->xfer_mode >> 3) == 8) {
        w[88] |= (uint16_t)(0x100 << (d->xfer_mode & 7));
    }
}

static void ata_identify(AtaDrive *d)
{
    uint16_t *w = (uint16_t *)d->buf;
    uint64_t lba28 = MIN(d->sectors, 0x0fffffffull);
    uint32_t chs = (uint32_t)d->cyls * d->heads * d->spt;

    memset(d->buf, 0, 512);
    w[0] = 0x0040; /* fixed device */
    w[1] = d->cyls;
    w[3] = d->heads;
    w[6] = d->spt;
    put_ata_string(w, 10, 10, d->serial);
    put_ata_string(w, 23, 4, "1.0");
    put_ata_string(w, 27, 20, d->model);
    w[47] = 0x8000 | MAX_MULT_SECTORS;
    w[48] = 0x0001; /* 32-bit PIO */
    w[49] = 0x0300; /* LBA, DMA */
    w[50] = 0x4000;
    w[51] = 0x0200;
    w[53] = 0x0007;
    w[54] = d->cyls;
    w[55] = d->heads;
    w[56] = d->spt;
    w[57] = (uint16_t)chs;
    w[58] = (uint16_t)(chs >> 16);
    w[59] = d->mult_sectors ? (uint16_t)(0x100 | d->mult_sectors) : 0;
    w[60] = (uint16_t)lba28;
    w[61] = (uint16_t)(lba28 >> 16);
    identify_dma_words(d, w);
    w[80] = 0x00f0; /* ATA/ATAPI-4 to -7 */
    w[82] = 0x4028; /* NOP, write cache, power management */
    w[83] = 0x7400; /* FLUSH CACHE EXT, FLUSH CACHE, 48-bit */
    w[84] = 0x4000;
    w[85] = (uint16_t)(0x4008 | (d->write_cache ? 0x20 : 0));
    w[86] = 0x3400;
    w[87] = 0x4000;
    w[105] = ATA_DSM_MAX_BLOCKS;
    w[169] = 0x0001; /* DATA SET MANAGEMENT: TRIM */
    w[100] = (uint16_t)d->sectors;
    w[101] = (uint16_t)(d->sectors >> 16);
    w[102] = (uint16_t)(d->sectors >> 32);
    w[103] = (uint16_t)(d->sectors >> 48);
    identify_checksum(w);
    for (unsigned i = 0; i < 256; i++) {
        w[i] = GUINT16_TO_LE(w[i]);
    }
}

static void atapi_identify(AtaDrive *d)
{
    uint16_t *w = (uint16_t *)d->buf;

    memset(d->buf, 0, 512);
    /* ATAPI, CD-ROM, removable, accelerated DRQ, 12-byte packets. */
    w[0] = 0x8000 | (0x05 << 8) | 0x80 | 0x40;
    put_ata_string(w, 10, 10, d->serial);
    put_ata_string(w, 23, 4, "1.0");
    put_ata_string(w, 27, 20, d->model);
    w[49] = 0x0300;
    w[53] = 0x0007;
    identify_dma_words(d, w);
    w[71] = 30;
    w[72] = 30;
    w[80] = 0x00f0;
    w[82] = 0x4010; /* NOP, PACKET */
    w[83] = 0x4000;
    w[84] = 0x4000;
    w[85] = 0x4010;
    w[87] = 0x4000;
    identify_checksum(w);
    for (unsigned i = 0; i < 256; i++) {
        w[i] = GUINT16_TO_LE(w[i]);
    }
}

static void identify_step(AtaDrive *d)
{
    cmd_ok(d);
}

/* ---- ATA read/write ----------------------------------------------------------------------- */

static bool cmd_is_lba48(uint8_t cmd)
{
    switch (cmd) {
    case CMD_READ_SECTORS_EXT:
    case CMD_READ_DMA_EXT:
    case CMD_READ_MULTIPLE_EXT:
    case CMD_WRITE_SECTORS_EXT:
    case CMD_WRITE_DMA_EXT:
    case CMD_WRITE_MULTIPLE_EXT:
    case CMD_WRITE_DMA_FUA_EXT:
    case CMD_WRITE_MULTIPLE_FUA_EXT:
    case CMD_READ_VERIFY_EXT:
    case CMD_READ_NATIVE_MAX_EXT:
    case CMD_FLUSH_CACHE_EXT:
        return true;
    default:
        return false;
    }
}

/* Start sector and count from the task file; false when CHS addressing is out of range. */
static bool taskfile_range(AtaDrive *d, bool lba48, uint64_t *lba, uint32_t *count)
{
    if (lba48) {
        *lba = (uint64_t)d->lbal | ((uint64_t)d->lbam << 8) | ((uint64_t)d->lbah << 16) |
               ((uint64_t)d->hob_lbal << 24) | ((uint64_t)d->hob_lbam << 32) |
               ((uint64_t)d->hob_lbah << 40);
        *count = (uint32_t)d->nsector | ((uint32_t)d->hob_nsector << 8);
        if (*count == 0) {
            *count = 65536;
        }
        return true;
    }
    *count = d->nsector ? d->nsector : 256;
    if (d->select & 0x40) {
        *lba = (uint64_t)d->lbal | ((uint64_t)d->lbam << 8) | ((uint64_t)d->lbah << 16) |
               ((uint64_t)(d->select & 0x0f) << 24);
        return true;
    }
    /* CHS with the current translation. */
    uint32_t cyl = (uint32_t)d->lbam | ((uint32_t)d->lbah << 8);
    uint32_t head = d->select & 0x0f;
    uint32_t sect = d->lbal;

    if (sect == 0 || sect > d->spt || head >= d->heads || d->spt == 0) {
        return false;
    }
    *lba = ((uint64_t)cyl * d->heads + head) * d->spt + (sect - 1);
    return true;
}

static bool range_ok(AtaDrive *d, uint64_t lba, uint64_t count)
{
    return d->bd != NULL && lba <= d->sectors && count <= d->sectors - lba;
}

static void rw_error(AtaDrive *d, int ret)
{
    vmm_guest_error("ata: I/O error at sector %" G_GUINT64_FORMAT ": %s", d->lba, g_strerror(-ret));
    finish(d, ATA_ERR_ABRT | (d->dir == ATA_XFER_IN ? ATA_ERR_UNC : 0), true);
}

static void read_chunk(AtaDrive *d);
static void read_chunk_moved(AtaDrive *d);

static void read_chunk_done(AtaDrive *d, int ret)
{
    if (ret < 0) {
        d->dir = ATA_XFER_IN;
        rw_error(d, ret);
        return;
    }
    xfer_start(d, ATA_XFER_IN, d->chunk * d->sector_size, read_chunk_moved);
}

static void read_chunk_moved(AtaDrive *d)
{
    d->lba += d->chunk;
    d->remaining -= d->chunk;
    if (d->remaining > 0) {
        read_chunk(d);
        return;
    }
    /* ATA PIO reads end without an interrupt (the last block's came at its start). */
    finish(d, 0, d->dma || d->dma_only || is_atapi(d));
}

static void read_chunk(AtaDrive *d)
{
    d->chunk = MIN(d->remaining, ATA_BUF_SIZE / d->sector_size);
    ata_io_submit(d, false, d->chunk * d->sector_size, read_chunk_done);
}

static void write_chunk(AtaDrive *d);

static void write_chunk_done(AtaDrive *d, int ret)
{
    if (ret < 0) {
        d->dir = ATA_XFER_OUT;
        rw_error(d, ret);
        return;
    }
    d->lba += d->chunk;
    d->remaining -= d->chunk;
    if (d->remaining > 0) {
        write_chunk(d);
        return;
    }
    cmd_ok(d);
}

static void write_chunk_moved(AtaDrive *d)
{
    ata_io_submit(d, true, d->chunk * d->sector_size, write_chunk_done);
}

static void write_chunk(AtaDrive *d)
{
    d->chunk = MIN(d->remaining, ATA_BUF_SIZE / d->sector_size);
    xfer_start(d, ATA_XFER_OUT, d->chunk * d->sector_size, write_chunk_moved);
}

static void ata_rw(AtaDrive *d, uint8_t cmd, bool write, bool dma, bool multiple)
{
    uint64_t lba;
    uint32_t count;

    if (multiple && d->mult_sectors == 0) {
        cmd_abort(d);
        return;
    }
    if (!taskfile_range(d, cmd_is_lba48(cmd), &lba, &count) || !range_ok(d, lba, count)) {
        vmm_guest_error("ata: sectors %" G_GUINT64_FORMAT "+%u outside the disk", lba, count);
        finish(d, ATA_ERR_IDNF | ATA_ERR_ABRT, true);
        return;
    }
    if (write && d->read_only) {
        cmd_abort(d);
        return;
    }
    d->lba = lba;
    d->remaining = count;
    d->dma = dma;
    d->dma_bytes = 0;
    d->drq_bytes = (multiple ? d->mult_sectors : 1u) * ATA_SECTOR_SIZE;
    d->irq_on_drq = false;
    if (write) {
        write_chunk(d);
    } else {
        read_chunk(d);
    }
}

static void ata_verify(AtaDrive *d, uint8_t cmd)
{
    uint64_t lba;
    uint32_t count;

    if (!taskfile_range(d, cmd_is_lba48(cmd), &lba, &count) || !range_ok(d, lba, count)) {
        finish(d, ATA_ERR_IDNF | ATA_ERR_ABRT, true);
        return;
    }
    cmd_ok(d);
}

static void ata_set_features(AtaDrive *d)
{
    switch (d->feature) {
    case 0x02: /* enable write cache */
        d->write_cache = true;
        break;
    case 0x82:
        d->write_cache = false;
        break;
    case 0x03: { /* set transfer mode */
        uint8_t mode = d->nsector;
        unsigned kind = mode >> 3;

        if (!(kind <= 1 || (kind == 4 && (mode & 7) <= 2) || (kind == 8 && (mode & 7) <= 5))) {
            cmd_abort(d);
            return;
        }
        d->xfer_mode = mode;
        break;
    }
    case 0x05: /* APM */
    case 0x85:
    case 0x31:
    case 0x66: /* keep settings over reset */
    case 0xcc:
    case 0x55: /* read look-ahead */
    case 0xaa:
    case 0x10: /* SATA features */
    case 0x90:
        break;
    default:
        cmd_abort(d);
        return;
    }
    cmd_ok(d);
}

/* ---- DATA SET MANAGEMENT (TRIM) ----------------------------------------------------------- */

static void dsm_next(AtaDrive *d);

static void dsm_discard_done(AtaDrive *d, int ret)
{
    /* TRIM is advisory: an image that cannot discard just keeps the data. */
    if (ret < 0 && ret != -ENOTSUP && ret != -EOPNOTSUPP) {
        cmd_abort(d);
        return;
    }
    dsm_next(d);
}

/* Discards the next non-empty range of the list in the buffer, or completes. */
static void dsm_next(AtaDrive *d)
{
    while (d->remaining > 0) {
        const uint8_t *e = d->buf + (size_t)(d->chunk - d->remaining) * 8;
        uint64_t v = 0;
        uint64_t lba;
        uint32_t n;
        AtaRequest *r;
        int ret;

        for (unsigned i = 0; i < 8; i++) {
            v |= (uint64_t)e[i] << (8 * i);
        }
        lba = v & 0xffffffffffffull;
        n = (uint32_t)(v >> 48);
        d->remaining--;
        if (n == 0) {
            continue;
        }
        if (!range_ok(d, lba, n)) {
            vmm_guest_error("ata: TRIM range %" G_GUINT64_FORMAT "+%u outside the disk", lba, n);
            finish(d, ATA_ERR_IDNF | ATA_ERR_ABRT, true);
            return;
        }
        r = g_new0(AtaRequest, 1);
        r->d = d;
        r->gen = d->gen;
        d->io_done = dsm_discard_done;
        d->inflight++;
        d->status = ATA_STAT_DRDY | ATA_STAT_DSC | ATA_STAT_BSY;
        ret = block_discard_async(d->bd, lba * ATA_SECTOR_SIZE, (uint64_t)n * ATA_SECTOR_SIZE,
                                  nodata_cb, r);
        if (ret < 0) {
            d->inflight--;
            d->io_done = NULL;
            g_free(r);
            if (ret == -ENOTSUP || ret == -EOPNOTSUPP) {
                continue;
            }
            cmd_abort(d);
        }
        return;
    }
    cmd_ok(d);
}

static void dsm_ranges_moved(AtaDrive *d)
{
    d->chunk = d->buf_len / 8;
    d->remaining = d->chunk;
    dsm_next(d);
}

static void ata_dsm(AtaDrive *d)
{
    uint32_t blocks = (uint32_t)d->nsector | ((uint32_t)d->hob_nsector << 8);

    if (!(d->feature & 0x01) || blocks == 0 || blocks > ATA_DSM_MAX_BLOCKS || d->read_only ||
        d->bd == NULL) {
        cmd_abort(d);
        return;
    }
    d->dma = true;
    d->dma_bytes = 0;
    xfer_start(d, ATA_XFER_OUT, blocks * ATA_SECTOR_SIZE, dsm_ranges_moved);
}

/* ---- ATAPI -------------------------------------------------------------------------------- */

static void lba_to_msf(uint8_t *p, uint32_t lba)
{
    lba += CD_LEAD_IN_FRAMES;
    p[0] = (uint8_t)(lba / (CD_FRAMES_PER_SEC * 60));
    p[1] = (uint8_t)((lba / CD_FRAMES_PER_SEC) % 60);
    p[2] = (uint8_t)(lba % CD_FRAMES_PER_SEC);
}

static void atapi_data_done(AtaDrive *d)
{
    atapi_ok(d);
}

/* Sends the @len bytes built in the buffer, cut to the allocation length @alloc. */
static void atapi_reply(AtaDrive *d, uint32_t len, uint32_t alloc)
{
    len = MIN(len, alloc);
    if (len == 0) {
        atapi_ok(d);
        return;
    }
    xfer_start(d, ATA_XFER_IN, len, atapi_data_done);
}

static bool atapi_has_medium(AtaDrive *d)
{
    return d->bd != NULL;
}

static uint32_t cd_blocks(AtaDrive *d)
{
    return (uint32_t)MIN(d->sectors, 0xffffffffull);
}

static void atapi_read_toc(AtaDrive *d, const uint8_t *p)
{
    uint8_t *b = d->buf;
    bool msf = (p[1] & 0x02) != 0;
    uint8_t format = p[2] & 0x0f;
    uint8_t track = p[6];
    uint32_t alloc = get_be16(p + 7);
    uint32_t n = 4;

    if (format == 0 && (p[9] >> 6) != 0) {
        format = p[9] >> 6; /* old SFF-8020 placement */
    }
    memset(b, 0, 64);
    switch (format) {
    case 0:
        if (track > 1 && track != 0xaa) {
            atapi_fail(d, SENSE_ILLEGAL_REQUEST, ASC_INVALID_FIELD, 0);
            return;
        }
        b[2] = 1;
        b[3] = 1;
        if (track <= 1) {
            b[n + 1] = 0x14; /* ADR 1, data track */
            b[n + 2] = 1;
            if (msf) {
                lba_to_msf(b + n + 5, 0);
            }
            n += 8;
        }
        b[n + 1] = 0x14;
        b[n + 2] = 0xaa;
        if (msf) {
            lba_to_msf(b + n + 5, cd_blocks(d));
        } else {
            put_be32(b + n + 4, cd_blocks(d));
        }
        n += 8;
        break;
    case 1: /* session information */
        b[2] = 1;
        b[3] = 1;
        b[n + 1] = 0x14;
        b[n + 2] = 1;
        if (msf) {
            lba_to_msf(b + n + 5, 0);
        }
        n += 8;
        break;
    case 2: { /* raw TOC: A0, A1, A2 and track 1 */
        static const uint8_t points[] = {0xa0, 0xa1, 0xa2, 0x01};

        b[2] = 1;
        b[3] = 1;
        for (unsigned i = 0; i < G_N_ELEMENTS(points); i++) {
            uint8_t *e = b + n;

            e[0] = 1;
            e[1] = 0x14;
            e[3] = points[i];
            if (points[i] == 0xa0 || points[i] == 0xa1) {
                e[8] = 1; /* first / last track; disc type 0 = CD-ROM */
            } else if (points[i] == 0xa2) {
                lba_to_msf(e + 8, cd_blocks(d));
            } else {
                lba_to_msf(e + 8, 0);
            }
            n += 11;
        }
        break;
    }
    default:
        atapi_fail(d, SENSE_ILLEGAL_REQUEST, ASC_INVALID_FIELD, 0);
        return;
    }
    put_be16(b, (uint16_t)(n - 2));
    atapi_reply(d, n, alloc);
}

static uint32_t mode_page(AtaDrive *d, uint8_t page, uint8_t *p)
{
    switch (page) {
    case 0x01: /* read error recovery */
        memset(p, 0, 8);
        p[0] = 0x01;
        p[1] = 0x06;
        p[3] = 5; /* retry count */
        return 8;
    case 0x2a: /* CD capabilities and mechanical status */
        memset(p, 0, 20);
        p[0] = 0x2a;
        p[1] = 0x12;
        p[2] = 0x00;
        p[4] = 0x71;                          /* multisession, mode 2 form 1/2, audio play */
        p[5] = 0x03;                          /* CD-DA commands, accurate stream */
        p[6] = 0x29 | (d->locked ? 0x02 : 0); /* tray, eject, lock */
        put_be16(p + 8, 706);                 /* 4x, in kB/s */
        put_be16(p + 10, 256);                /* volume levels */
        put_be16(p + 12, 512);                /* buffer, kB */
        put_be16(p + 14, 706);
        return 20;
    default:
        return 0;
    }
}

static void atapi_mode_sense(AtaDrive *d, const uint8_t *p, bool ten)
{
    uint8_t *b = d->buf;
    uint8_t page = p[2] & 0x3f;
    uint8_t pc = p[2] >> 6;
    uint32_t alloc = ten ? get_be16(p + 7) : p[4];
    uint32_t hdr = ten ? 8 : 4;
    uint32_t n = hdr;

    if (pc == 3) {
        atapi_fail(d, SENSE_ILLEGAL_REQUEST, ASC_SAVING_NOT_SUPPORTED, 0);
        return;
    }
    memset(b, 0, hdr);
    if (page == 0x3f) {
        n += mode_page(d, 0x01, b + n);
        n += mode_page(d, 0x2a, b + n);
    } else {
        uint32_t len = mode_page(d, page, b + n);

        if (len == 0) {
            atapi_fail(d, SENSE_ILLEGAL_REQUEST, ASC_INVALID_FIELD, 0);
            return;
        }
        n += len;
    }
    if (ten) {
        put_be16(b, (uint16_t)(n - 2));
        b[2] = atapi_has_medium(d) ? 0x01 : 0x70; /* 120 mm data disc / door closed, none */
    } else {
        b[0] = (uint8_t)(n - 1);
        b[1] = atapi_has_medium(d) ? 0x01 : 0x70;
    }
    atapi_reply(d, n, alloc);
}

static void atapi_get_configuration(AtaDrive *d, const uint8_t *p)
{
    uint8_t *b = d->buf;
    uint32_t alloc = get_be16(p + 7);
    uint8_t rt = p[1] & 0x03;
    uint16_t start = get_be16(p + 2);
    uint32_t n = 8;

    memset(b, 0, 64);
    put_be16(b + 6, atapi_has_medium(d) ? 0x0008 : 0x0000); /* current profile: CD-ROM */
    /* RT 0 and 1: features from @start on (both are always current); RT 2: just @start. */
    if (start == 0) {
        /* Feature 0: profile list, with CD-ROM as the only profile. */
        put_be16(b + n, 0x0000);
        b[n + 2] = 0x03; /* persistent, current */
        b[n + 3] = 4;
        put_be16(b + n + 4, 0x0008);
        b[n + 6] = atapi_has_medium(d) ? 0x01 : 0x00;
        n += 8;
    }
    if (rt == 2 ? start == 1 : start <= 1) {
        /* Feature 1: core, ATAPI physical interface. */
        put_be16(b + n, 0x0001);
        b[n + 2] = 0x0b; /* version 2, persistent, current */
        b[n + 3] = 8;
        put_be32(b + n + 4, 2);
        b[n + 8] = 0x01; /* DBE */
        n += 12;
    }
    put_be32(b, n - 4);
    atapi_reply(d, n, alloc);
}

static void atapi_event_status(AtaDrive *d, const uint8_t *p)
{
    uint8_t *b = d->buf;
    uint32_t alloc = get_be16(p + 7);
    uint8_t classes = p[4];

    if (!(p[1] & 0x01)) {
        /* Asynchronous notification is not supported. */
        atapi_fail(d, SENSE_ILLEGAL_REQUEST, ASC_INVALID_FIELD, 0);
        return;
    }
    memset(b, 0, 8);
    b[3] = 0x10; /* supported: media class */
    if (classes & 0x10) {
        put_be16(b, 6);
        b[2] = 0x04; /* media event */
        if (d->eject_request) {
            b[4] = 0x01;
            d->eject_request = false;
        } else if (d->media_event) {
            b[4] = d->media_event_code;
            d->media_event = false;
        }
        b[5] = atapi_has_medium(d) ? 0x02 : 0x00;
        atapi_reply(d, 8, alloc);
    } else {
        put_be16(b, 2);
        b[2] = 0x80; /* no event available */
        atapi_reply(d, 4, alloc);
    }
}

static void atapi_read_disc_info(AtaDrive *d, const uint8_t *p)
{
    uint8_t *b = d->buf;
    uint32_t alloc = get_be16(p + 7);

    if ((p[1] & 0x07) != 0) {
        atapi_fail(d, SENSE_ILLEGAL_REQUEST, ASC_INVALID_FIELD, 0);
        return;
    }
    memset(b, 0, 34);
    put_be16(b, 32);
    b[2] = 0x0e; /* complete disc, last session complete */
    b[3] = 1;    /* first track */
    b[4] = 1;    /* sessions */
    b[5] = 1;    /* first track in last session */
    b[6] = 1;    /* last track in last session */
    b[7] = 0x20; /* unrestricted use */
    b[8] = 0x00; /* CD-DA or CD-ROM */
    put_be32(b + 16, 0xffffffff);
    put_be32(b + 20, 0xffffffff);
    atapi_reply(d, 34, alloc);
}

static void atapi_start_stop(AtaDrive *d, const uint8_t *p)
{
    bool loej = (p[4] & 0x02) != 0;
    bool start = (p[4] & 0x01) != 0;

    if (loej && !start) {
        if (d->locked) {
            atapi_fail(d, SENSE_ILLEGAL_REQUEST, ASC_REMOVAL_PREVENTED, 0x02);
            return;
        }
        if (d->bd != NULL) {
            BlockDev *bd = d->bd;

            d->bd = NULL;
            d->sectors = 0;
            d->gen++;
            /* Closing waits for callbacks that take our lock: defer while any are queued. */
            if (d->inflight == 0) {
                block_close(bd);
            } else {
                if (d->stale_bd != NULL) {
                    vmm_guest_error("ata: second eject with I/O in flight; medium kept open");
                    d->stale_bd = NULL; /* leaked on purpose: closing here could deadlock */
                }
                d->stale_bd = bd;
            }
            d->media_event = true;
            d->media_event_code = 0x03; /* media removal */
        }
    }
    atapi_ok(d);
}

static void atapi_read_done(AtaDrive *d, int ret);
static void atapi_read_moved(AtaDrive *d);

static void atapi_read_next(AtaDrive *d)
{
    d->chunk = MIN(d->remaining, ATA_BUF_SIZE / ATAPI_SECTOR_SIZE);
    ata_io_submit(d, false, d->chunk * ATAPI_SECTOR_SIZE, atapi_read_done);
}

static void atapi_read_done(AtaDrive *d, int ret)
{
    if (ret < 0) {
        vmm_guest_error("atapi: read error at block %" G_GUINT64_FORMAT ": %s", d->lba,
                        g_strerror(-ret));
        if (ret == -ENOMEDIUM) {
            atapi_fail(d, SENSE_NOT_READY, ASC_MEDIUM_NOT_PRESENT, 0);
        } else {
            atapi_fail(d, 0x03 /* MEDIUM ERROR */, ASC_READ_ERROR, 0);
        }
        return;
    }
    xfer_start(d, ATA_XFER_IN, d->chunk * ATAPI_SECTOR_SIZE, atapi_read_moved);
}

static void atapi_read_moved(AtaDrive *d)
{
    d->lba += d->chunk;
    d->remaining -= d->chunk;
    if (d->remaining > 0) {
        atapi_read_next(d);
        return;
    }
    atapi_ok(d);
}

static void atapi_read(AtaDrive *d, uint64_t lba, uint32_t count)
{
    if (lba > d->sectors || count > d->sectors - lba) {
        vmm_guest_error("atapi: blocks %" G_GUINT64_FORMAT "+%u past the end", lba, count);
        atapi_fail(d, SENSE_ILLEGAL_REQUEST, ASC_LBA_OUT_OF_RANGE, 0);
        return;
    }
    if (count == 0) {
        atapi_ok(d);
        return;
    }
    d->lba = lba;
    d->remaining = count;
    atapi_read_next(d);
}

/* Commands that work without a medium and do not report UNIT ATTENTION. */
static bool atapi_no_attention(uint8_t op)
{
    return op == MMC_INQUIRY || op == MMC_REQUEST_SENSE || op == MMC_GET_CONFIGURATION ||
           op == MMC_GET_EVENT_STATUS;
}

static bool atapi_needs_medium(uint8_t op)
{
    switch (op) {
    case MMC_TEST_UNIT_READY:
    case MMC_READ_CAPACITY:
    case MMC_READ_10:
    case MMC_READ_12:
    case MMC_SEEK_10:
    case MMC_READ_TOC:
    case MMC_READ_DISC_INFO:
        return true;
    default:
        return false;
    }
}

static void atapi_exec_packet(AtaDrive *d)
{
    const uint8_t *p = d->packet;
    uint8_t *b = d->buf;
    uint8_t op = p[0];

    /* Byte count limit for PIO: 0 means the largest even value. */
    d->drq_bytes = (uint32_t)d->lbam | ((uint32_t)d->lbah << 8);
    if (d->drq_bytes == 0 || d->drq_bytes > 0xfffe) {
        d->drq_bytes = 0xfffe;
    }
    d->drq_bytes &= ~1u;
    if (d->drq_bytes == 0) {
        d->drq_bytes = 2;
    }
    d->dma = (d->feature & 0x01) != 0;
    d->irq_on_drq = true;
    d->dma_bytes = 0;

    if (d->unit_attention && !atapi_no_attention(op)) {
        d->unit_attention = false;
        atapi_fail(d, SENSE_UNIT_ATTENTION, ASC_MEDIUM_CHANGED, 0);
        return;
    }
    if (atapi_needs_medium(op) && !atapi_has_medium(d)) {
        atapi_fail(d, SENSE_NOT_READY, ASC_MEDIUM_NOT_PRESENT, 0);
        return;
    }

    switch (op) {
    case MMC_TEST_UNIT_READY:
    case MMC_SEEK_10:
    case MMC_SET_CD_SPEED:
    case MMC_SYNC_CACHE:
    case MMC_MODE_SELECT_6:
    case MMC_MODE_SELECT_10:
        /* Mode select data is not taken: no parameter is changeable. */
        atapi_ok(d);
        return;
    case MMC_REQUEST_SENSE:
        memset(b, 0, 18);
        b[0] = 0x70;
        b[2] = d->sense_key;
        b[7] = 10;
        b[12] = d->asc;
        b[13] = d->ascq;
        /* Reported once; atapi_reply() clears it after the data went out anyway. */
        atapi_reply(d, 18, p[4]);
        return;
    case MMC_INQUIRY: {
        uint32_t alloc = get_be16(p + 3);

        if (p[1] & 0x01) { /* no vital product data pages */
            atapi_fail(d, SENSE_ILLEGAL_REQUEST, ASC_INVALID_FIELD, 0);
            return;
        }
        memset(b, 0, 36);
        b[0] = 0x05; /* CD/DVD */
        b[1] = 0x80; /* removable */
        b[2] = 0x00;
        b[3] = 0x21; /* ATAPI, response format 1 */
        b[4] = 31;
        memcpy(b + 8, "BOXWOOD ", 8);
        memcpy(b + 16, "CD-ROM          ", 16);
        memcpy(b + 32, "1.0 ", 4);
        atapi_reply(d, 36, alloc);
        return;
    }
    case MMC_START_STOP_UNIT:
        atapi_start_stop(d, p);
        return;
    case MMC_PREVENT_ALLOW:
        d->locked = (p[4] & 0x01) != 0;
        atapi_ok(d);
        return;
    case MMC_READ_CAPACITY:
        put_be32(b, cd_blocks(d) ? cd_blocks(d) - 1 : 0);
        put_be32(b + 4, ATAPI_SECTOR_SIZE);
        atapi_reply(d, 8, 8);
        return;
    case MMC_READ_10:
        atapi_read(d, get_be32(p + 2), get_be16(p + 7));
        return;
    case MMC_READ_12:
        atapi_read(d, get_be32(p + 2), get_be32(p + 6));
        return;
    case MMC_READ_TOC:
        atapi_read_toc(d, p);
        return;
    case MMC_GET_CONFIGURATION:
        atapi_get_configuration(d, p);
        return;
    case MMC_GET_EVENT_STATUS:
        atapi_event_status(d, p);
        return;
    case MMC_MODE_SENSE_6:
        atapi_mode_sense(d, p, false);
        return;
    case MMC_MODE_SENSE_10:
        atapi_mode_sense(d, p, true);
        return;
    case MMC_READ_DISC_INFO:
        atapi_read_disc_info(d, p);
        return;
    case MMC_MECHANISM_STATUS: {
        uint32_t alloc = get_be16(p + 8);

        memset(b, 0, 8);
        atapi_reply(d, 8, alloc);
        return;
    }
    default:
        atapi_fail(d, SENSE_ILLEGAL_REQUEST, ASC_INVALID_OPCODE, 0);
        return;
    }
}

static void packet_received(AtaDrive *d)
{
    memcpy(d->packet, d->buf, sizeof(d->packet));
    atapi_exec_packet(d);
}

void ata_set_packet(AtaDrive *d, const uint8_t packet[12])
{
    memcpy(d->packet, packet, sizeof(d->packet));
}

static void atapi_packet_cmd(AtaDrive *d)
{
    if (d->dma_only) {
        /* AHCI: the packet came with the command table. */
        atapi_exec_packet(d);
        return;
    }
    /* Receive the 12-byte packet by PIO (no interrupt before it, accelerated DRQ). */
    d->dir = ATA_XFER_OUT;
    d->dma = false;
    d->buf_len = sizeof(d->packet);
    d->buf_pos = 0;
    d->drq_end = d->buf_len;
    d->step = packet_received;
    d->nsector = ATAPI_INTR_COD;
    d->status = ATA_STAT_DRDY | ATA_STAT_DSC | ATA_STAT_DRQ;
}

/* ---- command dispatch --------------------------------------------------------------------- */

void ata_set_signature(AtaDrive *d)
{
    d->nsector = 1;
    d->lbal = 1;
    if (is_atapi(d)) {
        d->lbam = 0x14;
        d->lbah = 0xeb;
    } else {
        d->lbam = 0;
        d->lbah = 0;
    }
    d->select &= 0xf0 & ~0x40;
    d->select |= 0xa0;
}

/* Signature loaded, error 01h: device 0 passed (device 1 passed or absent). */
static void exec_diagnostic(AtaDrive *d)
{
    ata_set_signature(d);
    d->status = is_atapi(d) ? 0 : ATA_STAT_DRDY | ATA_STAT_DSC;
    d->error = 0x01;
    raise_irq(d);
    if (d->ops->done != NULL) {
        d->ops->done(d->opaque, d);
    }
}

void ata_exec_command(AtaDrive *d, uint8_t cmd)
{
    if (!d->present) {
        return;
    }
    /* A command written mid-transfer aborts the transfer (late completions are dropped). */
    if (d->inflight > 0 || d->io_done != NULL) {
        d->gen++;
    }
    reset_xfer(d);
    d->command = cmd;
    d->error = 0;

    /* The PACKET command is treated here as is an ATAPI device's PIO receive of it. */
    if (is_atapi(d)) {
        switch (cmd) {
        case CMD_PACKET:
            atapi_packet_cmd(d);
            return;
        case CMD_IDENTIFY_PACKET:
            atapi_identify(d);
            d->drq_bytes = 512;
            xfer_start(d, ATA_XFER_IN, 512, identify_step);
            return;
        case CMD_DEVICE_RESET:
            /* Ends without an interrupt, with the signature loaded. */
            ata_drive_soft_reset(d);
            if (d->ops->done != NULL) {
                d->ops->done(d->opaque, d);
            }
            return;
        case CMD_EXEC_DIAGNOSTIC:
            exec_diagnostic(d);
            return;
        case CMD_CHECK_POWER_MODE:
            d->nsector = 0xff;
            cmd_ok(d);
            return;
        case CMD_SET_FEATURES:
            ata_set_features(d);
            return;
        case CMD_IDLE_IMMEDIATE:
        case CMD_STANDBY_IMMEDIATE:
        case CMD_IDLE:
        case CMD_STANDBY:
        case CMD_SLEEP:
            cmd_ok(d);
            return;
        default:
            /* IDENTIFY DEVICE and the rest: abort, with the signature for the prober. */
            ata_set_signature(d);
            finish(d, ATA_ERR_ABRT, true);
            return;
        }
    }

    switch (cmd) {
    case CMD_IDENTIFY:
        ata_identify(d);
        d->drq_bytes = 512;
        d->dma = false;
        xfer_start(d, ATA_XFER_IN, 512, identify_step);
        return;
    case CMD_READ_SECTORS:
    case CMD_READ_SECTORS_NR:
    case CMD_READ_SECTORS_EXT:
        ata_rw(d, cmd, false, false, false);
        return;
    case CMD_READ_MULTIPLE:
    case CMD_READ_MULTIPLE_EXT:
        ata_rw(d, cmd, false, false, true);
        return;
    case CMD_WRITE_SECTORS:
    case CMD_WRITE_SECTORS_NR:
    case CMD_WRITE_SECTORS_EXT:
        ata_rw(d, cmd, true, false, false);
        return;
    case CMD_WRITE_MULTIPLE:
    case CMD_WRITE_MULTIPLE_EXT:
    case CMD_WRITE_MULTIPLE_FUA_EXT:
        ata_rw(d, cmd, true, false, true);
        return;
    case CMD_READ_DMA:
    case CMD_READ_DMA_NR:
    case CMD_READ_DMA_EXT:
        ata_rw(d, cmd, false, true, false);
        return;
    case CMD_WRITE_DMA:
    case CMD_WRITE_DMA_NR:
    case CMD_WRITE_DMA_EXT:
    case CMD_WRITE_DMA_FUA_EXT:
        ata_rw(d, cmd, true, true, false);
        return;
    case CMD_READ_VERIFY:
    case CMD_READ_VERIFY_NR:
    case CMD_READ_VERIFY_EXT:
        ata_verify(d, cmd);
        return;
    case CMD_FLUSH_CACHE:
    case CMD_FLUSH_CACHE_EXT:
        ata_flush(d);
        return;
    case CMD_SET_FEATURES:
        ata_set_features(d);
        return;
    case CMD_DSM:
        ata_dsm(d);
        return;
    case CMD_SET_MULTIPLE:
        if (d->nsector == 0 || d->nsector > MAX_MULT_SECTORS ||
            (d->nsector & (d->nsector - 1)) != 0) {
            cmd_abort(d);
            return;
        }
        d->mult_sectors = d->nsector;
        cmd_ok(d);
        return;
    case CMD_INIT_DEV_PARAMS:
        if (d->nsector == 0) {
            cmd_abort(d);
            return;
        }
        d->heads = (uint16_t)((d->select & 0x0f) + 1);
        d->spt = d->nsector;
        d->cyls = (uint16_t)MIN(d->sectors / ((uint64_t)d->heads * d->spt), 65535u);
        cmd_ok(d);
        return;
    case CMD_EXEC_DIAGNOSTIC:
        exec_diagnostic(d);
        return;
    case CMD_CHECK_POWER_MODE:
        d->nsector = 0xff;
        cmd_ok(d);
        return;
    case CMD_READ_NATIVE_MAX:
    case CMD_READ_NATIVE_MAX_EXT: {
        uint64_t max = d->sectors ? d->sectors - 1 : 0;

        if (cmd == CMD_READ_NATIVE_MAX) {
            max = MIN(max, 0x0fffffffull);
            d->select = (uint8_t)((d->select & 0xf0) | ((max >> 24) & 0x0f));
        } else {
            d->hob_lbal = (uint8_t)(max >> 24);
            d->hob_lbam = (uint8_t)(max >> 32);
            d->hob_lbah = (uint8_t)(max >> 40);
        }
        d->lbal = (uint8_t)max;
        d->lbam = (uint8_t)(max >> 8);
        d->lbah = (uint8_t)(max >> 16);
        cmd_ok(d);
        return;
    }
    case CMD_IDLE_IMMEDIATE:
    case CMD_STANDBY_IMMEDIATE:
    case CMD_IDLE:
    case CMD_STANDBY:
    case CMD_SLEEP:
    case CMD_SEEK:
        cmd_ok(d);
        return;
    default:
        if ((cmd & 0xf0) == CMD_RECALIBRATE) {
            cmd_ok(d);
            return;
        }
        /* IDENTIFY PACKET DEVICE is how firmware tells disks from ATAPI: not an error. */
        if (cmd != CMD_IDENTIFY_PACKET) {
            vmm_guest_error("ata: unsupported command 0x%02x", cmd);
        }
        cmd_abort(d);
        return;
    }
}

/* ---- reset and life cycle ----------------------------------------------------------------- */

static void drive_reset_common(AtaDrive *d)
{
    d->gen++;
    reset_xfer(d);
    d->feature = 0;
    d->hob_feature = d->hob_nsector = d->hob_lbal = d->hob_lbam = d->hob_lbah = 0;
    d->select = 0xa0;
    d->error = 0x01; /* diagnostics passed */
    d->command = 0;
    ata_set_signature(d);
    d->status = is_atapi(d) ? 0 : ATA_STAT_DRDY | ATA_STAT_DSC;
}

void ata_drive_soft_reset(AtaDrive *d)
{
    drive_reset_common(d);
}

void ata_drive_reset(AtaDrive *d)
{
    drive_reset_common(d);
    d->mult_sectors = 0;
    d->xfer_mode = 0;
    d->write_cache = true;
    d->locked = false;
    d->sense_key = d->asc = d->ascq = 0;
    if (!is_atapi(d)) {
        d->heads = 16;
        d->spt = 63;
        d->cyls = (uint16_t)MIN(d->sectors / (16 * 63), 16383u);
    }
}

bool ata_parse_format(const char *s, BlockFormat *out, GError **error)
{
    if (s == NULL || *s == '\0' || g_str_equal(s, "auto")) {
        *out = BLOCK_FORMAT_AUTO;
    } else if (g_str_equal(s, "raw")) {
        *out = BLOCK_FORMAT_RAW;
    } else if (g_str_equal(s, "vdi")) {
        *out = BLOCK_FORMAT_VDI;
    } else {
        g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                    "unknown image format \"%s\" (auto, raw or vdi)", s);
        return false;
    }
    return true;
}

bool ata_parse_media(const char *s, AtaMediaKind *out, GError **error)
{
    if (s == NULL || *s == '\0' || g_str_equal(s, "disk")) {
        *out = ATA_MEDIA_DISK;
    } else if (g_str_equal(s, "cdrom")) {
        *out = ATA_MEDIA_CDROM;
    } else {
        g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                    "unknown media \"%s\" (disk or cdrom)", s);
        return false;
    }
    return true;
}

static BlockDev *open_medium(AtaDrive *d, const char *path, BlockFormat format, bool ro,
                             uint64_t *sectors, GError **error)
{
    BlockOpenOptions opts = {
        .format = format,
        .read_only = ro,
        .io = d->io,
    };
    BlockDev *bd = block_open(path, &opts, error);
    uint64_t size;

    if (bd == NULL) {
        return NULL;
    }
    size = block_size(bd);
    if (size < d->sector_size) {
        g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                    "%s: image too small (%" G_GUINT64_FORMAT " bytes)", path, size);
        block_close(bd);
        return NULL;
    }
    *sectors = size / d->sector_size;
    return bd;
}

bool ata_drive_init(AtaDrive *d, bool present, AtaMediaKind kind, const char *path,
                    BlockFormat format, bool read_only, const char *serial, GMutex *lock, void *io,
                    const AtaOps *ops, void *opaque, GError **error)
{
    memset(d, 0, sizeof(*d));
    d->present = present;
    d->kind = kind;
    d->lock = lock;
    d->io = io;
    d->ops = ops;
    d->opaque = opaque;
    d->read_only = read_only || kind == ATA_MEDIA_CDROM;
    d->sector_size = kind == ATA_MEDIA_CDROM ? ATAPI_SECTOR_SIZE : ATA_SECTOR_SIZE;
    g_strlcpy(d->serial, serial ? serial : "BW00000000", sizeof(d->serial));
    g_strlcpy(d->model, kind == ATA_MEDIA_CDROM ? "BOXWOOD CD-ROM" : "BOXWOOD HARDDISK",
              sizeof(d->model));
    if (present) {
        /* Slack past the window so a 4-byte PIO access at the end never overruns. */
        d->buf = g_malloc0(ATA_BUF_SIZE + 16);
        if (path != NULL && *path != '\0') {
            d->bd = open_medium(d, path, format, d->read_only, &d->sectors, error);
            if (d->bd == NULL) {
                return false;
            }
            if (!d->read_only && block_is_read_only(d->bd)) {
                d->read_only = true;
            }
        } else if (kind == ATA_MEDIA_DISK) {
            g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                        "a disk needs an image file");
            return false;
        }
    }
    ata_drive_reset(d);
    return true;
}

void ata_drive_cleanup(AtaDrive *d)
{
    g_clear_pointer(&d->bd, block_close);
    g_clear_pointer(&d->stale_bd, block_close);
    g_clear_pointer(&d->buf, g_free);
}

bool ata_change_media(AtaDrive *d, const char *path, BlockFormat format, GError **error)
{
    BlockDev *old = NULL, *stale = NULL, *bd = NULL;
    uint64_t sectors = 0;

    if (!d->present || d->kind != ATA_MEDIA_CDROM) {
        g_set_error(error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
                    "only a CD-ROM drive has removable media");
        return false;
    }
    if (path != NULL) {
        bd = open_medium(d, path, format, true, &sectors, error);
        if (bd == NULL) {
            return false;
        }
    }
    g_mutex_lock(d->lock);
    old = d->bd;
    stale = d->stale_bd;
    d->stale_bd = NULL;
    d->bd = bd;
    d->sectors = sectors;
    d->gen++;
    if (ata_busy(d) && d->command == CMD_PACKET) {
        /* The command in progress loses its medium. */
        atapi_fail(d, SENSE_NOT_READY, ASC_MEDIUM_NOT_PRESENT, 0);
    }
    d->media_event = true;
    d->media_event_code = bd != NULL ? 0x02 : 0x03; /* new media / media removal */
    if (bd != NULL) {
        d->unit_attention = true;
    }
    g_mutex_unlock(d->lock);
    /* Outside the lock: closing waits for completions, which take it. */
    if (old != NULL) {
        block_close(old);
    }
    if (stale != NULL) {
        block_close(stale);
    }
    return true;
}

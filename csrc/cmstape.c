/* cmstape.c - CMS files on tape: VMFPLC2 and CMS TAPE DUMP block framing.
 *
 * Both cut a file's record stream (the CMS data-block layout: F records back
 * to back, V records each after a 2-byte length) into blocks that start with
 * a 5-byte prefix, X'02' and four EBCDIC characters.  VMFPLC2 writes a PLCH
 * block (the FST) and then PLCD blocks of up to 4000 bytes, the last one
 * padded to a multiple of 800; CMS TAPE DUMP writes "CMS " blocks of 800
 * bytes and then a CMSN block with the FST.  Layouts and sources:
 * docs/formats.md "VMFPLC2 and TAPE DUMP tapes".  Every block length is
 * checked before its bytes are used. */
#include <string.h>

#include "internal.h"

static const uint8_t PFX_PLCD[5] = {0x02, 0xD7, 0xD3, 0xC3, 0xC4};   /* .PLCD */
static const uint8_t PFX_CMS[4] = {0x02, 0xC3, 0xD4, 0xE2};          /* .CMS  */
#define FLAG_DATA 0x40      /* " ": a data block */
#define FLAG_NULL 0xF0      /* "0": a null block (of a sparse F file) */
#define FLAG_NAME 0xD5      /* "N": the name block that ends a file */

static int check_kind(int kind, spk_errinfo *err)
{
    if (kind != SPK_CMSTAPE_PLC && kind != SPK_CMSTAPE_DUMP)
        return spk_fail(err, SPK_EARG, -1, -1, "unknown CMS tape kind %d", kind);
    return 0;
}

/* Payload bytes per data block when writing. */
static size_t chunk_of(int kind)
{
    return kind == SPK_CMSTAPE_PLC ? SPK_CMSTAPE_PLC_DATA : SPK_CMSTAPE_UNIT;
}

static uint64_t block_bound(const spk_archive_frame *fr, uint64_t blen)
{
    /* spk_tape_build_block's own worst case, FakeTape and AWS alike */
    uint64_t a = blen + (blen / (fr->chunksize ? fr->chunksize : 1) + 1) * 12 + 64;
    uint64_t b = spk_frame_len(fr, blen);
    return a > b ? a : b;
}

int64_t spk_cmstape_bound(uint64_t len, int kind, size_t hlen, const spk_archive_frame *fr)
{
    uint64_t chunk, n, total;

    if (check_kind(kind, NULL) < 0 || spk_frame_check(fr, 0, NULL) < 0 || hlen > 65535)
        return SPK_EARG;
    if (len > ((uint64_t)1 << 40))
        return SPK_EARG;
    chunk = chunk_of(kind);
    n = (len + chunk - 1) / chunk;
    total = n * block_bound(fr, chunk + SPK_CMSTAPE_PREFIX);
    if (hlen)
        total += block_bound(fr, hlen);
    return (int64_t)total;
}

/* Frames a file's blocks into out as its stream bytes come. */
typedef struct dumper {
    spk_archive_frame *fr;
    int kind;
    uint8_t blk[SPK_CMSTAPE_PREFIX + SPK_CMSTAPE_PLC_DATA];
    size_t fill, chunk;     /* stream bytes in blk; per block */
    uint8_t *out;
    size_t cap, pos;
    uint32_t prev, blocks;
    spk_errinfo *err;
} dumper;

static int put_block(dumper *d, const uint8_t *b, size_t len)
{
    uint32_t last = 0;
    int k;

    if (d->pos > d->cap)
        return spk_fail(d->err, SPK_EBUFSIZE, -1, d->blocks, "output buffer too small");
    k = spk_tape_build_block(b, len, d->fr->format, d->fr->method, d->fr->level,
                             d->fr->chunksize, d->prev, d->out + d->pos, d->cap - d->pos, &last,
                             NULL, d->err);
    if (k < 0)
        return k;
    d->pos += (size_t)k;
    d->prev = last;
    d->blocks++;
    return 0;
}

static int flush_data(dumper *d)
{
    size_t padded = d->fill;

    if (!d->fill)
        return 0;
    if (d->kind == SPK_CMSTAPE_DUMP)
        padded = d->chunk;
    else if (padded % SPK_CMSTAPE_UNIT)
        padded += SPK_CMSTAPE_UNIT - padded % SPK_CMSTAPE_UNIT;
    memset(d->blk + SPK_CMSTAPE_PREFIX + d->fill, 0, padded - d->fill);
    d->fill = 0;
    return put_block(d, d->blk, SPK_CMSTAPE_PREFIX + padded);
}

static int append(dumper *d, const uint8_t *p, size_t len)
{
    while (len) {
        size_t n = d->chunk - d->fill;
        int rc;
        if (n > len)
            n = len;
        memcpy(d->blk + SPK_CMSTAPE_PREFIX + d->fill, p, n);
        d->fill += n;
        p += n;
        len -= n;
        if (d->fill == d->chunk && (rc = flush_data(d)) < 0)
            return rc;
    }
    return 0;
}

int64_t spk_cmstape_dump(const uint8_t *data, size_t datalen, const uint32_t *ends, uint64_t n,
                         int var, uint32_t lrecl, int kind, const uint8_t *hdr, size_t hlen,
                         spk_archive_frame *fr, uint8_t *out, size_t outcap, spk_errinfo *err)
{
    dumper d;
    uint32_t start = 0;
    int rc;

    if ((rc = check_kind(kind, err)) < 0)
        return rc;
    if ((rc = spk_frame_check(fr, 0, err)) < 0)
        return rc;
    if ((!data && datalen) || (!ends && n) || (!hdr && hlen) || !out)
        return spk_fail(err, SPK_EARG, -1, -1, "missing buffer");
    if (hlen > 65535)
        return spk_fail(err, SPK_EARG, -1, -1, "header block of %zu bytes", hlen);
    if (n && ends[n - 1] != datalen)
        return spk_fail(err, SPK_EARG, -1, -1, "record ends do not cover the data");
    if (lrecl < 1)
        return spk_fail(err, SPK_EARG, -1, -1, "LRECL 0");
    if (!var) {
        for (uint64_t i = 0; i < n; i++)
            if (ends[i] != (uint64_t)lrecl * (i + 1))
                return spk_fail(err, SPK_EFORMAT, -1, (int64_t)i, "record %llu is %u bytes, "
                                "not LRECL %u (F records must all be LRECL bytes)",
                                (unsigned long long)i + 1,
                                ends[i] - (i ? ends[i - 1] : 0), lrecl);
    }
    memset(&d, 0, sizeof d);
    d.fr = fr;
    d.kind = kind;
    d.chunk = chunk_of(kind);
    d.out = out;
    d.cap = outcap;
    d.prev = fr->prev;
    d.err = err;
    if (kind == SPK_CMSTAPE_PLC) {
        memcpy(d.blk, PFX_PLCD, SPK_CMSTAPE_PREFIX);
    } else {
        memcpy(d.blk, PFX_CMS, 4);
        d.blk[4] = FLAG_DATA;
    }
    if (hlen && kind == SPK_CMSTAPE_PLC && (rc = put_block(&d, hdr, hlen)) < 0)
        return rc;
    if (!var) {
        if ((rc = append(&d, data, datalen)) < 0)
            return rc;
    } else {
        for (uint64_t i = 0; i < n; i++) {
            uint8_t len2[2];
            uint32_t l;
            if (ends[i] < start || ends[i] > datalen)
                return spk_fail(err, SPK_EARG, -1, (int64_t)i, "record %llu ends outside the "
                                "data", (unsigned long long)i);
            l = ends[i] - start;
            if (l < 1 || l > lrecl)
                return spk_fail(err, SPK_EFORMAT, -1, (int64_t)i, "V record %llu of %u bytes "
                                "(1..LRECL %u)", (unsigned long long)i + 1, l, lrecl);
            if ((size_t)l + 2 < d.chunk - d.fill) {
                /* the usual case: the record fits in the block being filled */
                uint8_t *q = d.blk + SPK_CMSTAPE_PREFIX + d.fill;
                q[0] = (uint8_t)(l >> 8);
                q[1] = (uint8_t)l;
                memcpy(q + 2, data + start, l);
                d.fill += (size_t)l + 2;
            } else {
                len2[0] = (uint8_t)(l >> 8);
                len2[1] = (uint8_t)l;
                if ((rc = append(&d, len2, 2)) < 0 || (rc = append(&d, data + start, l)) < 0)
                    return rc;
            }
            start = ends[i];
        }
    }
    if ((rc = flush_data(&d)) < 0)
        return rc;
    if (hlen && kind == SPK_CMSTAPE_DUMP && (rc = put_block(&d, hdr, hlen)) < 0)
        return rc;
    fr->prev = d.prev;
    fr->blocks = d.blocks;
    return (int64_t)d.pos;
}

int64_t spk_cmstape_vcount(const uint8_t *data, size_t len, uint32_t lrecl, spk_errinfo *err)
{
    size_t pos = 0;
    int64_t n = 0;

    if (!data && len)
        return spk_fail(err, SPK_EARG, -1, -1, "missing buffer");
    while (pos + 2 <= len) {
        uint32_t l = (uint32_t)data[pos] << 8 | data[pos + 1];
        if (l == 0)
            break;
        if (l > lrecl)
            return spk_fail(err, SPK_EFORMAT, (int64_t)pos, n, "record %lld of %u bytes: "
                            "longer than LRECL %u", (long long)n + 1, l, lrecl);
        if (l > len - pos - 2)
            return spk_fail(err, SPK_ETRUNC, (int64_t)pos, n, "record %lld of %u bytes: "
                            "the data ends %zu bytes into it", (long long)n + 1, l,
                            len - pos - 2);
        pos += 2 + (size_t)l;
        n++;
    }
    if (pos < len && pos + 2 > len)
        return spk_fail(err, SPK_ETRUNC, (int64_t)pos, n, "1 byte after record %lld: half a "
                        "record length", (long long)n);
    return n;
}

/* Whether the block (len bytes) is a data block of the kind. */
static int is_data(const uint8_t *b, size_t len, int kind)
{
    if (len < SPK_CMSTAPE_PREFIX)
        return 0;
    if (kind == SPK_CMSTAPE_PLC)
        return memcmp(b, PFX_PLCD, SPK_CMSTAPE_PREFIX) == 0;
    return memcmp(b, PFX_CMS, 4) == 0 && (b[4] == FLAG_DATA || b[4] == FLAG_NULL);
}

int spk_cmstape_read(const spk_tape_src *s, spk_cmstape_run *r, int kind, uint8_t *out,
                     size_t outcap, uint32_t *ends, uint64_t *offs, size_t maxn,
                     spk_errinfo *err)
{
    int rc;

    if ((rc = check_kind(kind, err)) < 0)
        return rc;
    if (!s || !r || !out || (!ends && maxn) || (!offs && maxn) || outcap > UINT32_MAX ||
        outcap < SPK_CMSTAPE_PREFIX || r->pos > outcap - SPK_CMSTAPE_PREFIX)
        return spk_fail(err, SPK_EARG, -1, -1, "missing buffer");
    r->other_len = 0;
    for (;;) {
        spk_tape_block b;
        uint8_t keep[SPK_CMSTAPE_PREFIX], *at;
        size_t room, blen;

        if (r->off >= s->size) {
            r->stop = SPK_CMSTAPE_STOP_END;
            return (int)r->n;
        }
        room = outcap - SPK_CMSTAPE_PREFIX - r->pos;
        if (r->n >= maxn || room < SPK_TAPE_MAXBLOCK) {
            r->stop = SPK_CMSTAPE_STOP_FULL;
            return (int)r->n;
        }
        /* the block goes where its prefix covers the last 5 data bytes so
         * far (kept and put back), so the data of the run stays contiguous
         * at out + 5 */
        at = out + r->pos;
        memcpy(keep, at, SPK_CMSTAPE_PREFIX);
        rc = spk_tape_read_block(s, r->off, at, room, &b, err);   /* + 5 left for a move */
        if (rc < 0) {
            memcpy(at, keep, SPK_CMSTAPE_PREFIX);
            if (rc != SPK_EWINDOW && err && err->index < 0)
                err->index = (int64_t)r->block;
            return rc;
        }
        blen = (size_t)rc;
        if (b.tapemark) {
            memcpy(at, keep, SPK_CMSTAPE_PREFIX);
            r->off = b.next;
            r->block++;
            r->stop = SPK_CMSTAPE_STOP_MARK;
            return (int)r->n;
        }
        if (!is_data(at, blen, kind)) {
            /* handed back whole after the data */
            memmove(at + SPK_CMSTAPE_PREFIX, at, blen);
            memcpy(at, keep, SPK_CMSTAPE_PREFIX);
            r->other_off = r->off;
            r->other_len = (uint32_t)blen;
            r->off = b.next;
            r->block++;
            r->stop = SPK_CMSTAPE_STOP_OTHER;
            return (int)r->n;
        }
        if (blen < SPK_CMSTAPE_PREFIX + 1 ||
            (kind == SPK_CMSTAPE_DUMP && blen != SPK_CMSTAPE_PREFIX + SPK_CMSTAPE_UNIT &&
             blen != SPK_CMSTAPE_PREFIX + SPK_CMSTAPE_BLOCK4K)) {
            memcpy(at, keep, SPK_CMSTAPE_PREFIX);
            return spk_fail(err, kind == SPK_CMSTAPE_PLC ? SPK_ETRUNC : SPK_EFORMAT,
                            (int64_t)r->off, (int64_t)r->block,
                            kind == SPK_CMSTAPE_PLC ? "data block of %zu bytes: no data after "
                            "its prefix" : "TAPE DUMP data block of %zu bytes: 805 or 4101 "
                            "expected", blen);
        }
        if (kind == SPK_CMSTAPE_DUMP && at[4] == FLAG_NULL)
            memset(at + SPK_CMSTAPE_PREFIX, 0, blen - SPK_CMSTAPE_PREFIX);
        memcpy(at, keep, SPK_CMSTAPE_PREFIX);
        offs[r->n] = r->off;
        r->pos += (uint32_t)(blen - SPK_CMSTAPE_PREFIX);
        ends[r->n] = r->pos;
        r->n++;
        r->off = b.next;
        r->block++;
    }
}

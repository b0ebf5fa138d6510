/* ddr.c - VM/370 DDR tapes: a track image <-> its THR buffer cut into
 * 4096-byte blocks as DMKDDR cuts it (docs/formats.md "DDR tapes").
 *
 * Dump: spk_ddr_encode turns a batch of track images into framed tape
 * blocks in one call.  Restore and map: spk_ddr_read walks the blocks of
 * whole tracks in a tape window, checks each track's blocking against its
 * THR and rebuilds the track images.  Every length read from the tape is
 * checked before use; a track never takes more than SPK_DDR_MAXTRACK bytes. */
#include <stdio.h>
#include <stdlib.h>

#include "internal.h"

#define BLK SPK_DDR_BLOCK
#define MINBLK SPK_DDR_MINBLOCK
#define THR_FIX SPK_DDR_THR
#define HA_LEN 5
#define COUNT_LEN 8
#define R0_LEN 16

/* EBCDIC record ids */
static const uint8_t ID_THR[4] = {0xE3, 0xC8, 0xD9, 0x40};   /* "THR " */
static const uint8_t ID_VHR[4] = {0xE5, 0xC8, 0xD9, 0x40};   /* "VHR " */
static const uint8_t ID_EOV[4] = {0xC5, 0xD6, 0xE5, 0x40};   /* "EOV " */
static const uint8_t ID_EOJ[4] = {0xC5, 0xD6, 0xD1, 0x40};   /* "EOJ " */

/* Bytes on tape for a THR buffer of l bytes: whole blocks, then a short
 * block of the rest, at least MINBLK bytes (DMKDDR: room for error recovery). */
static uint32_t short_len(uint32_t l)
{
    uint32_t rest = l % BLK;
    return rest == 0 ? 0 : rest < MINBLK ? MINBLK : rest;
}

static uint32_t tape_len(uint32_t l) { return l / BLK * BLK + short_len(l); }

int spk_ddr_track_encode(const uint8_t *img, size_t len, uint32_t cyl, uint32_t head, int flags,
                         uint8_t *out, size_t outcap, spk_ddr_track *t, spk_errinfo *err)
{
    spk_track_info info;
    spk_ddr_track tmp;
    size_t off, kd;
    uint32_t l, total, i;
    int rc;

    if (!t)
        t = &tmp;
    memset(t, 0, sizeof *t);
    if (!img || !out)
        return spk_fail(err, SPK_EARG, -1, -1, "missing buffer");
    if (cyl > 0xFFFF || head > 0xFFFF)
        return spk_fail(err, SPK_EARG, -1, -1, "address %u/%u outside 0..65535", cyl, head);
    rc = spk_track_parse(img, len, 0, 0, (flags & SPK_TRK_OVERFLOW) | SPK_TRK_ANYHA, NULL, 0,
                         &info, err);
    if (rc < 0)
        return rc;
    if (img[HA_LEN + 5] != 0 || spk_be16(img + HA_LEN + 6) != 8)
        return spk_fail(err, SPK_EUNSUPPORTED, HA_LEN, 0,
                        "R0 has key length %u and data length %u; a DDR tape carries R0 "
                        "with 8 data bytes and no key", img[HA_LEN + 5],
                        spk_be16(img + HA_LEN + 6));
    if (info.nrecs > 0xFFFF)
        return spk_fail(err, SPK_EUNSUPPORTED, -1, -1, "%u records on one track", info.nrecs);
    l = THR_FIX + COUNT_LEN * info.nrecs + info.key_bytes + info.data_bytes;
    if (l > SPK_DDR_MAXTRACK)
        return spk_fail(err, SPK_EUNSUPPORTED, -1, -1, "track of %u bytes exceeds %d", l,
                        SPK_DDR_MAXTRACK);
    total = tape_len(l);
    if (total > outcap)
        return spk_fail(err, SPK_EBUFSIZE, -1, -1, "%u bytes needed, %zu given", total, outcap);

    memcpy(out, ID_THR, 4);
    spk_put_be16(out + 4, info.nrecs);
    spk_put_be16(out + 6, l / BLK);
    spk_put_be16(out + 8, short_len(l));
    out[10] = 0;
    out[11] = (flags & SPK_DDR_KEEPHA) ? img[0] : (uint8_t)(img[0] & ~0x02);
    spk_put_be16(out + 12, cyl);
    spk_put_be16(out + 14, head);
    memcpy(out + 16, img + HA_LEN, R0_LEN);
    off = HA_LEN + R0_LEN;
    kd = THR_FIX + (size_t)COUNT_LEN * info.nrecs;
    for (i = 0; i < info.nrecs; i++) {
        const uint8_t *c = img + off;
        uint8_t *o = out + THR_FIX + (size_t)COUNT_LEN * i;
        uint32_t n = c[5] + spk_be16(c + 6);

        memcpy(o, c, COUNT_LEN);
        if ((flags & SPK_TRK_OVERFLOW) && (c[0] & 0x80)) {
            if (i + 1 != info.nrecs)
                return spk_fail(err, SPK_EUNSUPPORTED, (int64_t)off, i + 1,
                                "record %u (R%u) has the track-overflow flag but is not the "
                                "last record of the track; DDR carries track overflow only "
                                "for the last record", i + 1, c[4]);
            o[0] &= 0x7F;
            out[10] = SPK_DDR_SPECIAL;
        }
        memcpy(out + kd, c + COUNT_LEN, n);
        kd += n;
        off += COUNT_LEN + n;
    }
    memset(out + l, 0, total - l);
    t->length = l;
    t->tape_bytes = total;
    t->cyl = (uint16_t)cyl;
    t->head = (uint16_t)head;
    t->nrecs = (uint16_t)info.nrecs;
    t->nblocks = (uint16_t)(l / BLK);
    t->shortlen = (uint16_t)short_len(l);
    t->haflag = out[11];
    t->thrflag = out[10];
    t->key_bytes = info.key_bytes;
    t->data_bytes = info.data_bytes;
    return (int)total;
}

int64_t spk_ddr_bound(const uint32_t *ends, size_t n, const spk_archive_frame *fr)
{
    uint64_t total = 0, start = 0;

    if (spk_frame_check(fr, 0, NULL) < 0 || (!ends && n))
        return SPK_EARG;
    for (size_t i = 0; i < n; i++) {
        uint64_t len, l, full;
        if (ends[i] < start)
            return SPK_EARG;
        len = ends[i] - start;
        start = ends[i];
        /* l = 32 + 8 n + keys + data = image length + 3 */
        l = len + 3;
        full = l / BLK;
        total += full * spk_frame_len(fr, BLK) + spk_frame_len(fr, MINBLK + BLK);
    }
    return total > INT64_MAX ? SPK_EARG : (int64_t)total;
}

int64_t spk_ddr_encode(const uint8_t *imgs, size_t len, const uint32_t *ends,
                       const uint32_t *addrs, size_t n, int flags, spk_archive_frame *fr,
                       uint8_t *out, size_t outcap, uint64_t *track_end, uint32_t *track_last,
                       uint32_t *track_blocks, spk_errinfo *err)
{
    uint8_t *buf;
    size_t pos = 0, start = 0;
    uint32_t prev, blocks = 0;
    int rc = 0;

    if ((!imgs && len) || (!ends && n) || (!addrs && n) || !out)
        return spk_fail(err, SPK_EARG, -1, -1, "missing buffer");
    if ((rc = spk_frame_check(fr, 0, err)) < 0)
        return rc;
    buf = malloc(SPK_DDR_MAXTRACK);
    if (!buf)
        return spk_fail(err, SPK_ENOMEM, -1, -1, "out of memory");
    prev = fr->prev;
    for (size_t i = 0; i < n; i++) {
        spk_ddr_track t;
        int total;

        if (ends[i] < start || ends[i] > len) {
            rc = spk_fail(err, SPK_EARG, -1, (int64_t)i, "track %zu ends at %u, outside "
                          "%zu..%zu", i, ends[i], start, len);
            goto done;
        }
        total = spk_ddr_track_encode(imgs + start, ends[i] - start, addrs[i] >> 16,
                                     addrs[i] & 0xFFFF, flags, buf, SPK_DDR_MAXTRACK, &t, err);
        if (total < 0) {
            rc = total;
            if (err)
                err->index = (int64_t)i;
            goto done;
        }
        for (int b = 0; b < total; b += BLK) {
            uint32_t blen = (uint32_t)(total - b < BLK ? total - b : BLK), last = 0;
            int k = spk_tape_build_block(buf + b, blen, fr->format, fr->method, fr->level,
                                         fr->chunksize, prev, out + pos, outcap - pos, &last,
                                         NULL, err);
            if (k < 0) {
                rc = k;
                if (err)
                    err->index = (int64_t)i;
                goto done;
            }
            pos += (size_t)k;
            prev = last;
            blocks++;
        }
        if (track_end) track_end[i] = pos;
        if (track_last) track_last[i] = prev;
        if (track_blocks) track_blocks[i] = blocks;
        start = ends[i];
    }
    fr->prev = prev;
    fr->blocks = blocks;
done:
    free(buf);
    return rc < 0 ? rc : (int64_t)pos;
}

/* ---- reading ---------------------------------------------------------- */

/* An error about the block at off, number blk. */
static int block_fail(spk_errinfo *err, int code, uint64_t off, uint64_t blk, const char *fmt,
                      ...) __attribute__((format(printf, 5, 6)));
static int block_fail(spk_errinfo *err, int code, uint64_t off, uint64_t blk, const char *fmt,
                      ...)
{
    if (err) {
        va_list ap;
        err->code = code;
        err->offset = (int64_t)off;
        err->index = (int64_t)blk;
        va_start(ap, fmt);
        vsnprintf(err->msg, sizeof err->msg, fmt, ap);
        va_end(ap);
    }
    return code;
}

/* Read the block at off into dst (cap bytes).  Returns its length, 0 for a
 * tapemark (b->tapemark set), 1 plus end (*end = 1) at the end of the tape,
 * or an error; SPK_EWINDOW leaves err naming where the window must reach. */
static int get_block(const spk_tape_src *s, uint64_t off, uint64_t blk, uint8_t *dst,
                     size_t cap, spk_tape_block *b, int *end, spk_errinfo *err)
{
    int rc;

    *end = 0;
    if (off == s->size) {
        *end = 1;
        return 0;
    }
    rc = spk_tape_read_block(s, off, dst, cap, b, err);
    if (rc == SPK_EWINDOW)
        return rc;
    if (rc == SPK_EBUFSIZE)
        return block_fail(err, SPK_EFORMAT, off, blk,
                          "block of %u bytes is longer than any DDR block", b->stored);
    if (rc < 0) {
        if (err)
            err->index = (int64_t)blk;
        return rc;
    }
    return rc;
}

/* The blocks of the track whose THR is at r->off, assembled into work.
 * Returns the THR buffer's tape length, or an error / SPK_EWINDOW. */
static int gather_track(const spk_tape_src *s, spk_ddr_reader *r, uint8_t *work,
                        size_t worklen, uint32_t first, uint64_t *next, uint32_t *last,
                        uint64_t *nblk, spk_errinfo *err)
{
    uint32_t ndrt = spk_be16(work + 6), drl = spk_be16(work + 8);
    uint32_t want = ndrt * BLK + drl, have = first, count = 1;
    uint32_t nblocks = ndrt == 0 ? 0 : ndrt - 1 + (drl ? 1 : 0);   /* after the THR block */
    uint64_t off = *next;

    if (ndrt == 0 ? (drl != first || drl < MINBLK)
                  : (first != BLK || (drl != 0 && (drl < MINBLK || drl >= BLK))))
        return block_fail(err, SPK_EFORMAT, r->off, r->block,
                          "THR block of %u bytes announces %u 4096-byte blocks and a short "
                          "block of %u bytes: DDR cuts a track into 4096-byte blocks (the "
                          "THR first) and one short block of 80 to 4095 bytes",
                          first, ndrt, drl);
    if (want > SPK_DDR_MAXTRACK || want > worklen)
        return block_fail(err, SPK_EFORMAT, r->off, r->block,
                          "THR announces %u bytes of track data; no track takes more than %d",
                          want, SPK_DDR_MAXTRACK);
    for (uint32_t i = 0; i < nblocks; i++) {
        spk_tape_block b;
        int end, rc;
        uint32_t expect = (i + 1 < nblocks || drl == 0) ? BLK : drl;
        uint64_t blk = r->block + count;

        rc = get_block(s, off, blk, work + have, worklen - have, &b, &end, err);
        if (rc == SPK_EWINDOW)
            return rc;
        if (rc < 0)
            return rc;
        if (end)
            return block_fail(err, SPK_ETRUNC, off, blk,
                              "the tape ends after block %u of the %u blocks of the track",
                              i + 1, nblocks + 1);
        if (b.tapemark)
            return block_fail(err, SPK_ETRUNC, off, blk,
                              "tapemark after block %u of the %u blocks of the track", i + 1,
                              nblocks + 1);
        if ((uint32_t)rc != expect)
            return block_fail(err, SPK_EFORMAT, off, blk,
                              "block %u of the track has %d bytes, the THR announces %u",
                              i + 2, rc, expect);
        have += (uint32_t)rc;
        off = b.next;
        *last = b.last_chunk;
        count++;
    }
    *next = off;
    *nblk = count;
    return (int)have;
}

/* Check the THR buffer (tl bytes) and fill t; with img, rebuild the track
 * image there (cap bytes).  Returns the image length (0 without img). */
static int decode_track(const spk_ddr_reader *r, const uint8_t *w, uint32_t tl,
                        spk_ddr_track *t, uint8_t *img, size_t cap, spk_errinfo *err)
{
    uint32_t n = spk_be16(w + 4), l = THR_FIX, keys = 0, data = 0, i;
    uint8_t flag = w[10];
    int64_t cyl = (int64_t)spk_be16(w + 12) + r->cyl_delta;
    uint32_t head = spk_be16(w + 14);
    size_t pos, kd;

    if ((uint64_t)THR_FIX + (uint64_t)COUNT_LEN * n > tl)
        return block_fail(err, SPK_EFORMAT, r->off, r->block,
                          "THR announces %u count fields; %u bytes hold at most %u", n, tl,
                          (tl - THR_FIX) / COUNT_LEN);
    for (i = 0; i < n; i++) {
        const uint8_t *c = w + THR_FIX + COUNT_LEN * i;
        keys += c[5];
        data += spk_be16(c + 6);
    }
    l += COUNT_LEN * n + keys + data;
    if (l > tl || tape_len(l) != tl)
        return block_fail(err, SPK_EFORMAT, r->off, r->block,
                          "the count fields need a %u-byte THR buffer (%u blocks of 4096 and a "
                          "short block of %u bytes); the THR announces %u blocks and %u bytes",
                          l, l / BLK, short_len(l), spk_be16(w + 6), spk_be16(w + 8));
    if (w[16 + 5] != 0 || spk_be16(w + 16 + 6) != 8)
        return block_fail(err, SPK_EFORMAT, r->off, r->block,
                          "R0 count says key length %u and data length %u; DDR carries R0 with "
                          "8 data bytes", w[16 + 5], spk_be16(w + 16 + 6));
    if (flag & ~SPK_DDR_SPECIAL)
        return block_fail(err, SPK_EFORMAT, r->off, r->block,
                          "THR flag X'%02X' has bits DDR does not define", flag);
    if ((flag & SPK_DDR_SPECIAL) && n == 0)
        return block_fail(err, SPK_EFORMAT, r->off, r->block,
                          "THR flag SPECIAL on a track without records");
    memset(t, 0, sizeof *t);
    t->offset = r->off;
    t->block = r->block;
    t->length = l;
    t->tape_bytes = tl;
    t->cyl = spk_be16(w + 12);
    t->head = (uint16_t)head;
    t->nrecs = (uint16_t)n;
    t->nblocks = spk_be16(w + 6);
    t->shortlen = spk_be16(w + 8);
    t->haflag = w[11];
    t->thrflag = flag;
    t->key_bytes = keys;
    t->data_bytes = data;
    if (!img)
        return 0;

    if (cyl < 0 || cyl > 0xFFFF)
        return block_fail(err, SPK_EARG, r->off, r->block,
                          "track of cylinder %u moved to cylinder %lld, outside 0..65535",
                          t->cyl, (long long)cyl);
    if ((size_t)l - 3 > cap)
        return block_fail(err, SPK_EBUFSIZE, r->off, r->block, "image buffer too small");
    /* HA: the flag byte of an image is always zero (Hercules keeps no track flags) */
    img[0] = 0;
    spk_put_be16(img + 1, (uint32_t)cyl);
    spk_put_be16(img + 3, head);
    memcpy(img + HA_LEN, w + 16, R0_LEN);
    if (r->flags & SPK_DDR_R0_RELOCATE)
        memcpy(img + HA_LEN, img + 1, 4);
    pos = HA_LEN + R0_LEN;
    kd = THR_FIX + (size_t)COUNT_LEN * n;
    for (i = 0; i < n; i++) {
        const uint8_t *c = w + THR_FIX + COUNT_LEN * i;
        uint32_t k = c[5] + spk_be16(c + 6);

        memcpy(img + pos, c, COUNT_LEN);
        if (r->flags & SPK_TRK_OVERFLOW) {
            if (c[0] & 0x80)
                return block_fail(err, SPK_EFORMAT, r->off, r->block,
                                  "record %u (R%u) names cylinder %u, which a count field of a "
                                  "volume with track overflow cannot hold", i + 1, c[4],
                                  spk_be16(c));
            if ((flag & SPK_DDR_SPECIAL) && i + 1 == n)
                img[pos] |= 0x80;
        } else if ((flag & SPK_DDR_SPECIAL) && i + 1 == n) {
            return block_fail(err, SPK_EUNSUPPORTED, r->off, r->block,
                              "the track's last record was written with track overflow, "
                              "which a volume of 32768 or more cylinders cannot hold");
        }
        memcpy(img + pos + COUNT_LEN, w + kd, k);
        pos += COUNT_LEN + k;
        kd += k;
    }
    memset(img + pos, 0xFF, COUNT_LEN);
    pos += COUNT_LEN;
    t->image_len = (uint32_t)pos;
    return (int)pos;
}

int spk_ddr_read(const spk_tape_src *s, spk_ddr_reader *r, spk_ddr_track *tracks,
                 size_t maxtracks, uint8_t *out, size_t outcap, uint8_t *work, size_t worklen,
                 spk_errinfo *err)
{
    size_t n = 0, pos = 0;

    if (!s || !r || (!tracks && maxtracks) || !work || worklen < SPK_DDR_MAXTRACK)
        return spk_fail(err, SPK_EARG, -1, -1, "missing buffer");
    r->stop = SPK_DDR_STOP_FULL;
    r->need = 0;
    r->bad_id = 0;
    while (n < maxtracks) {
        spk_tape_block b;
        uint64_t next, nblk = 1;
        uint32_t last;
        int end, len, tl, want_img;

        r->cur_cyl = r->cur_head = -1;
        len = get_block(s, r->off, r->block, work, SPK_DDR_MAXTRACK, &b, &end, err);
        if (len == SPK_EWINDOW) {
            r->stop = SPK_DDR_STOP_WINDOW;
            r->need = err ? (uint64_t)(err->offset + err->index) - r->off : BLK;
            return (int)n;
        }
        if (len < 0)
            return len;
        if (end) {
            r->stop = SPK_DDR_STOP_END;
            return (int)n;
        }
        if (b.tapemark) {
            r->off = b.next;
            r->block++;
            r->last = b.last_chunk;
            r->stop = SPK_DDR_STOP_MARK;
            return (int)n;
        }
        if (len >= 4 && (!memcmp(work, ID_EOV, 4) || !memcmp(work, ID_EOJ, 4))) {
            if (len != SPK_DDR_HDR)
                return block_fail(err, SPK_EFORMAT, r->off, r->block,
                                  "%s trailer of %d bytes, expected %d",
                                  work[2] == 0xE5 ? "EOV" : "EOJ", len, SPK_DDR_HDR);
            memcpy(r->trailer, work, SPK_DDR_HDR);
            r->off = b.next;
            r->block++;
            r->last = b.last_chunk;
            r->stop = SPK_DDR_STOP_TRAILER;
            return (int)n;
        }
        if (len >= 4 && !memcmp(work, ID_VHR, 4))
            return block_fail(err, SPK_EFORMAT, r->off, r->block,
                              "a volume header (VHR) where a track header was expected");
        if (len < THR_FIX || memcmp(work, ID_THR, 4)) {
            r->bad_id = 1;
            return block_fail(err, SPK_EFORMAT, r->off, r->block,
                              "block of %d bytes is no DDR track header (THR)", len);
        }
        r->cur_cyl = spk_be16(work + 12);
        r->cur_head = spk_be16(work + 14);
        next = b.next;
        last = b.last_chunk;
        tl = gather_track(s, r, work, worklen, (uint32_t)len, &next, &last, &nblk, err);
        if (tl == SPK_EWINDOW) {
            r->stop = SPK_DDR_STOP_WINDOW;
            r->need = err ? (uint64_t)(err->offset + err->index) - r->off : BLK;
            r->cur_cyl = r->cur_head = -1;
            return (int)n;
        }
        if (tl < 0)
            return tl;
        want_img = out && spk_be16(work + 12) >= r->sel_first &&
                   spk_be16(work + 12) <= r->sel_last;
        if (want_img) {
            /* the image is 3 bytes shorter than the THR buffer's used part */
            uint32_t l = THR_FIX;
            uint32_t cnt = spk_be16(work + 4);
            if ((uint64_t)THR_FIX + (uint64_t)COUNT_LEN * cnt <= (uint32_t)tl) {
                for (uint32_t i = 0; i < cnt; i++) {
                    const uint8_t *c = work + THR_FIX + COUNT_LEN * i;
                    l += COUNT_LEN + c[5] + spk_be16(c + 6);
                }
                if ((size_t)l - 3 > outcap - pos) {
                    if (n == 0)
                        return spk_fail(err, SPK_EBUFSIZE, -1, -1,
                                        "image buffer of %zu bytes, %u needed", outcap, l - 3);
                    r->cur_cyl = r->cur_head = -1;
                    return (int)n;   /* STOP_FULL: the caller takes these first */
                }
            }
        }
        tl = decode_track(r, work, (uint32_t)tl, &tracks[n], want_img ? out + pos : NULL,
                          want_img ? outcap - pos : 0, err);
        if (tl < 0)
            return tl;
        tracks[n].image = (uint32_t)pos;
        pos += tracks[n].image_len;
        r->off = next;
        r->block += nblk;
        r->last = last;
        n++;
    }
    r->cur_cyl = r->cur_head = -1;
    return (int)n;
}

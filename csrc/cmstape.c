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

int64_t spk_cmstape_encode(const uint8_t *stream, size_t len, int kind, const uint8_t *hdr,
                           size_t hlen, spk_archive_frame *fr, uint8_t *out, size_t outcap,
                           spk_errinfo *err)
{
    uint8_t blk[SPK_CMSTAPE_PREFIX + SPK_CMSTAPE_PLC_DATA];
    size_t pos = 0, chunk;
    uint32_t prev, blocks = 0;
    int rc;

    if ((rc = check_kind(kind, err)) < 0)
        return rc;
    if ((rc = spk_frame_check(fr, 0, err)) < 0)
        return rc;
    if ((!stream && len) || (!hdr && hlen) || !out)
        return spk_fail(err, SPK_EARG, -1, -1, "missing buffer");
    if (hlen > 65535)
        return spk_fail(err, SPK_EARG, -1, -1, "header block of %zu bytes", hlen);
    chunk = chunk_of(kind);
    prev = fr->prev;
    if (hlen && kind == SPK_CMSTAPE_PLC) {
        uint32_t last = 0;
        int k = spk_tape_build_block(hdr, hlen, fr->format, fr->method, fr->level,
                                     fr->chunksize, prev, out, outcap, &last, NULL, err);
        if (k < 0)
            return k;
        pos += (size_t)k;
        prev = last;
        blocks++;
    }
    if (kind == SPK_CMSTAPE_PLC) {
        memcpy(blk, PFX_PLCD, SPK_CMSTAPE_PREFIX);
    } else {
        memcpy(blk, PFX_CMS, 4);
        blk[4] = FLAG_DATA;
    }
    for (size_t off = 0; off < len; off += chunk) {
        size_t n = len - off < chunk ? len - off : chunk;
        size_t padded = n;
        uint32_t last = 0;
        int k;

        if (kind == SPK_CMSTAPE_DUMP)
            padded = chunk;
        else if (padded % SPK_CMSTAPE_UNIT)
            padded += SPK_CMSTAPE_UNIT - padded % SPK_CMSTAPE_UNIT;
        memcpy(blk + SPK_CMSTAPE_PREFIX, stream + off, n);
        memset(blk + SPK_CMSTAPE_PREFIX + n, 0, padded - n);
        if (pos > outcap)
            return spk_fail(err, SPK_EBUFSIZE, -1, blocks, "output buffer too small");
        k = spk_tape_build_block(blk, SPK_CMSTAPE_PREFIX + padded, fr->format, fr->method,
                                 fr->level, fr->chunksize, prev, out + pos, outcap - pos,
                                 &last, NULL, err);
        if (k < 0)
            return k;
        pos += (size_t)k;
        prev = last;
        blocks++;
    }
    if (hlen && kind == SPK_CMSTAPE_DUMP) {
        uint32_t last = 0;
        int k;
        if (pos > outcap)
            return spk_fail(err, SPK_EBUFSIZE, -1, blocks, "output buffer too small");
        k = spk_tape_build_block(hdr, hlen, fr->format, fr->method, fr->level, fr->chunksize,
                                 prev, out + pos, outcap - pos, &last, NULL, err);
        if (k < 0)
            return k;
        pos += (size_t)k;
        prev = last;
        blocks++;
    }
    fr->prev = prev;
    fr->blocks = blocks;
    return (int64_t)pos;
}

int64_t spk_cmstape_gather(const uint8_t *blocks, size_t len, const uint32_t *ends, size_t n,
                           int kind, uint8_t *out, size_t outcap, spk_errinfo *err)
{
    size_t start = 0, pos = 0;
    int rc;

    if ((rc = check_kind(kind, err)) < 0)
        return rc;
    if ((!blocks && len) || (!ends && n) || (!out && outcap))
        return spk_fail(err, SPK_EARG, -1, -1, "missing buffer");
    for (size_t i = 0; i < n; i++) {
        const uint8_t *b;
        size_t blen, plen;

        if (ends[i] < start || ends[i] > len)
            return spk_fail(err, SPK_EARG, -1, (int64_t)i, "block %zu ends at %u, outside "
                            "%zu..%zu", i, ends[i], start, len);
        b = blocks + start;
        blen = ends[i] - start;
        if (blen < SPK_CMSTAPE_PREFIX + 1)
            return spk_fail(err, SPK_ETRUNC, (int64_t)start, (int64_t)i,
                            "data block of %zu bytes: shorter than its 5-byte prefix and "
                            "one data byte", blen);
        plen = blen - SPK_CMSTAPE_PREFIX;
        if (kind == SPK_CMSTAPE_PLC) {
            if (memcmp(b, PFX_PLCD, SPK_CMSTAPE_PREFIX) != 0)
                return spk_fail(err, SPK_EFORMAT, (int64_t)start, (int64_t)i,
                                "data block prefix %02X%02X%02X%02X%02X is not X'02' PLCD",
                                b[0], b[1], b[2], b[3], b[4]);
        } else {
            if (memcmp(b, PFX_CMS, 4) != 0 || (b[4] != FLAG_DATA && b[4] != FLAG_NULL))
                return spk_fail(err, SPK_EFORMAT, (int64_t)start, (int64_t)i,
                                "data block prefix %02X%02X%02X%02X%02X is not X'02' "
                                "'CMS ' or 'CMS0'", b[0], b[1], b[2], b[3], b[4]);
            if (plen != SPK_CMSTAPE_UNIT && plen != SPK_CMSTAPE_BLOCK4K)
                return spk_fail(err, SPK_EFORMAT, (int64_t)start, (int64_t)i,
                                "TAPE DUMP data block of %zu bytes: 805 or 4101 expected",
                                blen);
        }
        if (plen > outcap - pos)
            return spk_fail(err, SPK_EBUFSIZE, (int64_t)start, (int64_t)i,
                            "output buffer too small");
        if (kind == SPK_CMSTAPE_DUMP && b[4] == FLAG_NULL)
            memset(out + pos, 0, plen);
        else
            memcpy(out + pos, b + SPK_CMSTAPE_PREFIX, plen);
        pos += plen;
        start = ends[i];
    }
    return (int64_t)pos;
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

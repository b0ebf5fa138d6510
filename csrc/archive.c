/* archive.c - spool archive blocks (SPKF, SPKP) built and framed for the
 * tape in one call, so a DUMP does no per-block Python work.
 *
 * The bytes are exactly those of spoolkit/spool/archive.py (FileHeader.encode,
 * encode_pages) framed as spk_tape_build_block frames them (AWS/HET chunks,
 * FakeTape headers) or as a minidisk archive stores them (8-byte block
 * headers).  Plain blocks are copied once, straight into their frames, and
 * their CRC-32C is taken from the source; compressed (HET) blocks are
 * assembled in a scratch buffer and handed to spk_tape_build_block. */
#include <stdio.h>
#include <stdlib.h>

#include "internal.h"

#define PAGE SPK_SPOOL_PAGE
#define PER_BLOCK SPK_ARCH_PAGES_PER_BLOCK

static const uint8_t MAGIC_FILE[4] = {0xE2, 0xD7, 0xD2, 0xC6};   /* EBCDIC "SPKF" */
static const uint8_t MAGIC_PAGES[4] = {0xE2, 0xD7, 0xD2, 0xD7};  /* EBCDIC "SPKP" */

uint64_t spk_frame_len(const spk_archive_frame *fr, uint64_t blen)
{
    switch (fr->format) {
    case SPK_TAPE_FAKETAPE: return blen + SPK_TAPE_FKT_HDR;
    case SPK_ARCH_STREAM: return blen + SPK_ARCH_STREAM_HDR;
    default: return blen + (blen + fr->chunksize - 1) / fr->chunksize * SPK_TAPE_AWS_HDR;
    }
}

int spk_frame_check(const spk_archive_frame *fr, int stream_ok, spk_errinfo *err)
{
    if (!fr)
        return spk_fail(err, SPK_EARG, -1, -1, "missing framing");
    if (fr->format == SPK_TAPE_AWS) {
        if (fr->chunksize < 1 || fr->chunksize > SPK_TAPE_MAXCHUNK)
            return spk_fail(err, SPK_EARG, -1, -1, "chunk size %u outside 1..65535",
                            fr->chunksize);
        if (fr->method != SPK_COMP_NONE && fr->method != SPK_COMP_ZLIB &&
            fr->method != SPK_COMP_BZIP2)
            return spk_fail(err, SPK_EARG, -1, -1, "unknown compression method %d",
                            fr->method);
    } else if (fr->format == SPK_TAPE_FAKETAPE || (stream_ok && fr->format == SPK_ARCH_STREAM)) {
        if (fr->method != SPK_COMP_NONE)
            return spk_fail(err, SPK_EARG, -1, -1, "this framing has no compression");
    } else {
        return spk_fail(err, SPK_EARG, -1, -1, "unknown framing %d", fr->format);
    }
    if (fr->prev > 0xFFFF)
        return spk_fail(err, SPK_EARG, -1, -1, "previous chunk length %u out of range",
                        fr->prev);
    return 0;
}

int64_t spk_archive_bound(const spk_archive_frame *fr, int header, uint64_t npages)
{
    uint64_t full, rest, n = 0;

    if (spk_frame_check(fr, 1, NULL) < 0)
        return SPK_EARG;
    if (npages > UINT32_MAX)
        return SPK_EARG;
    full = npages / PER_BLOCK;
    rest = npages % PER_BLOCK;
    if (header)
        n += spk_frame_len(fr, SPK_ARCH_SPKF_HDR + PAGE + 4);
    n += full * spk_frame_len(fr, SPK_ARCH_SPKP_HDR + (uint64_t)PER_BLOCK * PAGE + 4);
    if (rest)
        n += spk_frame_len(fr, SPK_ARCH_SPKP_HDR + rest * PAGE + 4);
    return (int64_t)n;
}

/* Writes one block's bytes into its frames as they come. */
typedef struct framer {
    const spk_archive_frame *fr;
    uint8_t *out;
    size_t cap, pos;
    uint32_t prev;          /* last chunk (FakeTape: block) length written */
    size_t blen, done;      /* current block: length, bytes so far */
    size_t left;            /* bytes left in the current AWS chunk */
} framer;

static void begin_block(framer *w, size_t blen)
{
    uint8_t *p = w->out + w->pos;

    w->blen = blen;
    w->done = 0;
    w->left = 0;
    if (w->fr->format == SPK_TAPE_FAKETAPE) {
        char hdr[SPK_TAPE_FKT_HDR + 1];
        snprintf(hdr, sizeof hdr, "%04X%04X%04X", w->prev, (unsigned)blen,
                 w->prev ^ (unsigned)blen);
        memcpy(p, hdr, SPK_TAPE_FKT_HDR);
        w->pos += SPK_TAPE_FKT_HDR;
        w->prev = (uint32_t)blen;
        w->left = blen;
    } else if (w->fr->format == SPK_ARCH_STREAM) {
        spk_put_be32(p, (uint32_t)blen);
        memset(p + 4, 0, 4);                 /* flags 0: a data block */
        w->pos += SPK_ARCH_STREAM_HDR;
        w->left = blen;
    }
}

static void put(framer *w, const uint8_t *src, size_t n)
{
    while (n) {
        size_t k;
        if (w->left == 0) {                  /* AWS: open the next chunk */
            size_t c = w->blen - w->done < w->fr->chunksize ? w->blen - w->done
                                                            : w->fr->chunksize;
            uint8_t *h = w->out + w->pos;
            uint8_t f1 = 0;
            if (w->done == 0) f1 |= SPK_TAPE_BOR;
            if (w->done + c == w->blen) f1 |= SPK_TAPE_EOR;
            spk_put_le16(h, (uint32_t)c);
            spk_put_le16(h + 2, w->prev);
            h[4] = f1;
            h[5] = 0;
            w->pos += SPK_TAPE_AWS_HDR;
            w->prev = (uint32_t)c;
            w->left = c;
        }
        k = n < w->left ? n : w->left;
        memcpy(w->out + w->pos, src, k);
        w->pos += k;
        w->left -= k;
        w->done += k;
        src += k;
        n -= k;
    }
}

/* One block = head (hlen bytes) + body (blen bytes) + CRC-32C of both.
 * The caller checked that its frame fits. */
static int emit(framer *w, const uint8_t *head, size_t hlen, const uint8_t *body,
                size_t blen, uint8_t *scratch, spk_errinfo *err)
{
    size_t total = hlen + blen + 4;
    uint8_t crc[4];

    spk_put_be32(crc, spk_crc32c(spk_crc32c(0, head, hlen), body, blen));
    if (w->fr->method == SPK_COMP_NONE) {
        begin_block(w, total);
        put(w, head, hlen);
        put(w, body, blen);
        put(w, crc, 4);
        return 0;
    }
    /* HET: the whole block is compressed (kept only if smaller), then chunked */
    {
        uint32_t last = 0;
        int rc;
        memcpy(scratch, head, hlen);
        memcpy(scratch + hlen, body, blen);
        memcpy(scratch + hlen + blen, crc, 4);
        rc = spk_tape_build_block(scratch, total, SPK_TAPE_AWS, w->fr->method, w->fr->level,
                                  w->fr->chunksize, w->prev, w->out + w->pos, w->cap - w->pos,
                                  &last, NULL, err);
        if (rc < 0)
            return rc;
        w->pos += (size_t)rc;
        w->prev = last;
    }
    return 0;
}

int64_t spk_archive_encode(const spk_archive_file *f, const uint8_t *header_page, size_t hlen,
                           uint32_t first, const uint8_t *pages, size_t len, int final,
                           spk_archive_frame *fr, uint8_t *out, size_t outcap,
                           spk_errinfo *err)
{
    framer w;
    uint8_t head[SPK_ARCH_SPKF_HDR];
    uint8_t *scratch = NULL;
    uint64_t npages, need, blocks = 0;
    int64_t bound;
    int rc = 0;

    if (!f || !out || (!pages && len))
        return spk_fail(err, SPK_EARG, -1, -1, "missing buffer");
    if ((rc = spk_frame_check(fr, 1, err)) < 0)
        return rc;
    if (header_page && hlen != PAGE)
        return spk_fail(err, SPK_EFORMAT, -1, -1, "header page of %zu bytes, not %d", hlen,
                        PAGE);
    if (len % PAGE)
        return spk_fail(err, SPK_EFORMAT, -1, -1,
                        "%zu bytes of pages are not whole %d-byte pages", len, PAGE);
    npages = len / PAGE;
    if (!final && npages % PER_BLOCK)
        return spk_fail(err, SPK_EARG, -1, -1,
                        "%llu pages do not end on a block boundary (%d pages) before the "
                        "end of the file", (unsigned long long)npages, PER_BLOCK);
    if (npages > (uint64_t)UINT32_MAX - first)
        return spk_fail(err, SPK_EARG, -1, -1, "page index overflows 32 bits");
    bound = spk_archive_bound(fr, header_page != NULL, npages);
    if (bound < 0)
        return spk_fail(err, (int)bound, -1, -1, "invalid framing");
    need = (uint64_t)bound;
    if (need > outcap)
        return spk_fail(err, SPK_EBUFSIZE, -1, -1, "output buffer of %zu bytes, %llu needed",
                        outcap, (unsigned long long)need);
    if (fr->method != SPK_COMP_NONE) {
        scratch = malloc(SPK_ARCH_SPKP_HDR + (size_t)PER_BLOCK * PAGE + 4);
        if (!scratch)
            return spk_fail(err, SPK_ENOMEM, -1, -1, "out of memory");
    }
    memset(&w, 0, sizeof w);
    w.fr = fr;
    w.out = out;
    w.cap = outcap;
    w.prev = fr->prev;

    if (header_page) {
        memcpy(head, MAGIC_FILE, 4);
        head[4] = 1;                         /* version */
        head[5] = 0;                         /* flags */
        spk_put_be16(head + 6, PAGE);
        spk_put_be32(head + 8, f->fileseq);
        spk_put_be32(head + 12, f->pages);
        spk_put_be32(head + 16, f->records);
        spk_put_be32(head + 20, f->spoolid);
        memcpy(head + 24, f->owner, 8);
        spk_put_be64(head + 32, f->created);
        spk_put_be32(head + 40, f->crc);
        spk_put_be32(head + 44, 0);
        if ((rc = emit(&w, head, SPK_ARCH_SPKF_HDR, header_page, PAGE, scratch, err)) < 0)
            goto done;
        blocks++;
    }
    for (uint64_t i = 0; i < npages; i += PER_BLOCK) {
        uint64_t n = npages - i < PER_BLOCK ? npages - i : PER_BLOCK;
        memcpy(head, MAGIC_PAGES, 4);
        head[4] = 1;
        head[5] = 0;
        spk_put_be16(head + 6, (uint32_t)n);
        spk_put_be32(head + 8, f->fileseq);
        spk_put_be32(head + 12, first + (uint32_t)i);
        if ((rc = emit(&w, head, SPK_ARCH_SPKP_HDR, pages + i * PAGE, n * PAGE, scratch,
                       err)) < 0)
            goto done;
        blocks++;
    }
    fr->prev = w.prev;
    fr->blocks = (uint32_t)blocks;
done:
    free(scratch);
    return rc < 0 ? rc : (int64_t)w.pos;
}

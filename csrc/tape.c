/* tape.c - AWS / HET chunk framing and Flex FakeTape block headers.
 *
 * AWS/HET: every chunk has a 6-byte header {this chunk's length LE16,
 * previous chunk's length LE16, flags1, flags2}; a block is chunks from BOR
 * to EOR; HET compresses the whole block before chunking and marks every
 * chunk.  FakeTape: a 12-character ASCII header {prev, cur, prev^cur} in
 * 4 hex digits each, no chunking, no compression. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "internal.h"

static int hexval(uint8_t c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
}

static int hex4(const uint8_t *p)
{
    int v = 0;
    for (int i = 0; i < 4; i++) {
        int h = hexval(p[i]);
        if (h < 0)
            return -1;
        v = (v << 4) | h;
    }
    return v;
}

/* Bytes [off, off + n) of the tape: NULL when they are not all in the window
 * (the caller has checked them against the file size first). */
static const uint8_t *at(const spk_tape_src *s, uint64_t off, uint64_t n)
{
    if (off < s->base || off - s->base > s->len || n > s->len - (off - s->base))
        return NULL;
    return s->buf + (off - s->base);
}

/* 0 when [off, off + n) is in the file and in the window; SPK_ETRUNC when the
 * file ends first; SPK_EWINDOW when the bytes are in the file, past the window. */
static int need(const spk_tape_src *s, uint64_t off, uint64_t n)
{
    if (off > s->size || n > s->size - off)
        return SPK_ETRUNC;
    return at(s, off, n) ? 0 : SPK_EWINDOW;
}

/* err->index: how many bytes from off the block needs at least */
static int window_end(spk_errinfo *err, uint64_t off, uint64_t needed)
{
    return spk_fail(err, SPK_EWINDOW, (int64_t)off, (int64_t)needed,
                    "block at offset %llu continues past the data read so far",
                    (unsigned long long)off);
}

static int scan_fkt(const spk_tape_src *s, uint64_t off, spk_tape_block *b, spk_errinfo *err)
{
    int prev, cur, chk, rc;
    const uint8_t *h;

    rc = need(s, off, SPK_TAPE_FKT_HDR);
    if (rc == SPK_ETRUNC)
        return spk_fail(err, SPK_ETRUNC, (int64_t)off, -1,
                        "FakeTape header at offset %llu is cut off by the end of the file",
                        (unsigned long long)off);
    if (rc)
        return window_end(err, off, SPK_TAPE_FKT_HDR);
    h = at(s, off, SPK_TAPE_FKT_HDR);
    prev = hex4(h);
    cur = hex4(h + 4);
    chk = hex4(h + 8);
    if (prev < 0 || cur < 0 || chk < 0)
        return spk_fail(err, SPK_EFORMAT, (int64_t)off, -1,
                        "FakeTape header at offset %llu is not 12 hex digits",
                        (unsigned long long)off);
    if ((prev ^ cur) != chk)
        return spk_fail(err, SPK_EFORMAT, (int64_t)off, -1,
                        "FakeTape header damage at offset %llu: %04X xor %04X is not %04X",
                        (unsigned long long)off, prev, cur, chk);
    if (off > 0 && (uint64_t)prev + SPK_TAPE_FKT_HDR > off)
        return spk_fail(err, SPK_EFORMAT, (int64_t)off, -1,
                        "FakeTape header at offset %llu: previous block of %d bytes would "
                        "start before the load point", (unsigned long long)off, prev);
    b->prev = (uint32_t)prev;
    if (cur == 0) {
        b->tapemark = 1;
        b->next = off + SPK_TAPE_FKT_HDR;
        return 0;
    }
    if ((uint64_t)cur > s->size - off - SPK_TAPE_FKT_HDR)
        return spk_fail(err, SPK_ETRUNC, (int64_t)off, -1,
                        "FakeTape block of %d bytes at offset %llu runs past the end of the file",
                        cur, (unsigned long long)off);
    b->chunks = 1;
    b->stored = (uint32_t)cur;
    b->last_chunk = (uint32_t)cur;
    b->next = off + SPK_TAPE_FKT_HDR + (uint64_t)cur;
    return 0;
}

/* Walk the chunks of the block at off.  With payload, the chunks' data must
 * be in the window too (to be gathered); without, only their headers. */
static int scan_aws(const spk_tape_src *s, uint64_t off, int payload, spk_tape_block *b,
                    spk_errinfo *err)
{
    uint64_t p = off;

    for (;;) {
        uint32_t clen, plen;
        uint8_t f1, f2;
        int method, rc;
        const uint8_t *h;

        rc = need(s, p, SPK_TAPE_AWS_HDR);
        if (rc == SPK_ETRUNC)
            return spk_fail(err, SPK_ETRUNC, (int64_t)p, -1,
                            "chunk header at offset %llu is cut off by the end of the file",
                            (unsigned long long)p);
        if (rc)
            return window_end(err, off, p - off + SPK_TAPE_AWS_HDR);
        h = at(s, p, SPK_TAPE_AWS_HDR);
        clen = spk_le16(h);
        plen = spk_le16(h + 2);
        f1 = h[4];
        f2 = h[5];
        if (b->chunks == 0) {
            b->prev = plen;
            if ((uint64_t)plen + SPK_TAPE_AWS_HDR > p && p > 0)
                return spk_fail(err, SPK_EFORMAT, (int64_t)p, -1,
                                "chunk header at offset %llu: previous chunk of %u bytes would "
                                "start before the load point", (unsigned long long)p, plen);
        }
        if (f1 & SPK_TAPE_TM) {
            if (b->chunks)
                return spk_fail(err, SPK_EFORMAT, (int64_t)p, -1,
                                "tapemark at offset %llu inside a block", (unsigned long long)p);
            if (clen)
                return spk_fail(err, SPK_EFORMAT, (int64_t)p, -1,
                                "tapemark header at offset %llu carries %u data bytes",
                                (unsigned long long)p, clen);
            b->tapemark = 1;
            b->next = p + SPK_TAPE_AWS_HDR;
            return 0;
        }
        if (b->chunks == 0 && !(f1 & SPK_TAPE_BOR))
            return spk_fail(err, SPK_EFORMAT, (int64_t)p, -1,
                            "chunk at offset %llu does not begin a block (no BOR flag)",
                            (unsigned long long)p);
        if (b->chunks && (f1 & SPK_TAPE_BOR))
            return spk_fail(err, SPK_EFORMAT, (int64_t)p, -1,
                            "BOR flag at offset %llu inside a block that began at %llu",
                            (unsigned long long)p, (unsigned long long)off);
        if ((f1 & 0x03) == 0x03 || ((f1 & 0x03) && (f2 & SPK_TAPE_BUSTECH)))
            return spk_fail(err, SPK_EFORMAT, (int64_t)p, -1,
                            "chunk at offset %llu has conflicting compression flags %02X/%02X",
                            (unsigned long long)p, f1, f2);
        /* empty chunks only as a whole (empty) block: a block then spans at
         * most 7 * SPK_TAPE_MAXBLOCK bytes of the file */
        if (clen == 0 && (f1 & (SPK_TAPE_BOR | SPK_TAPE_EOR)) != (SPK_TAPE_BOR | SPK_TAPE_EOR))
            return spk_fail(err, SPK_EFORMAT, (int64_t)p, -1,
                            "empty chunk at offset %llu inside a block",
                            (unsigned long long)p);
        method = (f1 & 0x03) ? (f1 & 0x03) : ((f2 & SPK_TAPE_BUSTECH) ? SPK_COMP_ZLIB : 0);
        if (b->chunks && method != b->method)
            return spk_fail(err, SPK_EFORMAT, (int64_t)p, -1,
                            "chunk at offset %llu changes the compression within a block",
                            (unsigned long long)p);
        b->method = method;
        rc = need(s, p + SPK_TAPE_AWS_HDR, clen);
        if (rc == SPK_ETRUNC)
            return spk_fail(err, SPK_ETRUNC, (int64_t)p, -1,
                            "chunk of %u bytes at offset %llu runs past the end of the file",
                            clen, (unsigned long long)p);
        if (rc && payload)
            return window_end(err, off, p - off + SPK_TAPE_AWS_HDR + clen);
        b->stored += clen;
        if (b->stored > SPK_TAPE_MAXBLOCK)
            return spk_fail(err, SPK_EFORMAT, (int64_t)off, -1,
                            "block at offset %llu exceeds %d bytes",
                            (unsigned long long)off, SPK_TAPE_MAXBLOCK);
        b->chunks++;
        b->last_chunk = clen;
        p += SPK_TAPE_AWS_HDR + clen;
        if (f1 & SPK_TAPE_EOR)
            break;
    }
    b->next = p;
    return 0;
}

static int scan(const spk_tape_src *s, uint64_t off, int payload, spk_tape_block *b,
                spk_errinfo *err)
{
    if (!s || !b || (!s->buf && s->len) || s->base > s->size || s->len > s->size - s->base)
        return spk_fail(err, SPK_EARG, -1, -1, "bad tape window");
    memset(b, 0, sizeof *b);
    b->offset = off;
    b->next = off;
    if (off > s->size)
        return spk_fail(err, SPK_EARG, (int64_t)off, -1, "offset beyond the end of the tape");
    if (off == s->size)
        return 1;
    if (s->format == SPK_TAPE_FAKETAPE) {
        int rc = scan_fkt(s, off, b, err);
        /* a FakeTape block is one piece: its payload must be in the window too */
        if (rc == 0 && !b->tapemark && payload && !at(s, off, b->next - off))
            return window_end(err, off, b->next - off);
        return rc;
    }
    if (s->format != SPK_TAPE_AWS)
        return spk_fail(err, SPK_EARG, -1, -1, "unknown tape format %d", s->format);
    return scan_aws(s, off, payload, b, err);
}

int spk_tape_scan_block(const spk_tape_src *s, uint64_t off, spk_tape_block *b,
                        spk_errinfo *err)
{
    return scan(s, off, 0, b, err);
}

/* Copy the payload of a scanned block (its chunks' data, all in the window) to dst. */
static void gather(const spk_tape_src *s, const spk_tape_block *b, uint8_t *dst)
{
    uint64_t p = b->offset;

    if (s->format == SPK_TAPE_FAKETAPE) {
        memcpy(dst, at(s, p + SPK_TAPE_FKT_HDR, b->stored), b->stored);
        return;
    }
    for (uint32_t i = 0; i < b->chunks; i++) {
        const uint8_t *h = at(s, p, SPK_TAPE_AWS_HDR);
        uint32_t clen = spk_le16(h);
        memcpy(dst, h + SPK_TAPE_AWS_HDR, clen);
        dst += clen;
        p += SPK_TAPE_AWS_HDR + clen;
    }
}

/* Name the block in err's message: "block at offset N: <message>". */
static void at_block(spk_errinfo *err, uint64_t off)
{
    char why[sizeof err->msg];

    memcpy(why, err->msg, sizeof why);
    snprintf(err->msg, sizeof err->msg, "block at offset %llu: %.150s",
             (unsigned long long)off, why);
    err->offset = (int64_t)off;
}

static int payload(const spk_tape_src *s, const spk_tape_block *b, uint8_t *out,
                   size_t outcap, uint8_t **scratch, spk_errinfo *err)
{
    int rc;
    const uint8_t *src;

    if (b->method == SPK_COMP_NONE) {
        if (b->stored > outcap)
            return spk_fail(err, SPK_EBUFSIZE, (int64_t)b->offset, -1,
                            "block of %u bytes exceeds the %zu-byte buffer", b->stored, outcap);
        gather(s, b, out);
        return (int)b->stored;
    }
    if (b->chunks == 1) {
        src = at(s, b->offset + SPK_TAPE_AWS_HDR, b->stored);
    } else {
        if (!*scratch) {
            *scratch = malloc(SPK_TAPE_MAXBLOCK);
            if (!*scratch)
                return spk_fail(err, SPK_ENOMEM, -1, -1, "out of memory");
        }
        gather(s, b, *scratch);
        src = *scratch;
    }
    rc = spk_decompress(b->method, src, b->stored, out, outcap, err);
    if (rc < 0 && err) {
        err->offset = (int64_t)b->offset;
        if (rc == SPK_ECOMPRESS)
            at_block(err, b->offset);
    }
    return rc;
}

int spk_tape_read_block(const spk_tape_src *s, uint64_t off, uint8_t *out, size_t outcap,
                        spk_tape_block *b, spk_errinfo *err)
{
    uint8_t *scratch = NULL;
    int rc = scan(s, off, 1, b, err);

    if (rc == 1)
        return spk_fail(err, SPK_ENOTFOUND, (int64_t)off, -1, "end of tape");
    if (rc < 0 || b->tapemark)
        return rc;
    if (!out)
        return spk_fail(err, SPK_EARG, -1, -1, "missing buffer");
    if (outcap > SPK_TAPE_MAXBLOCK)
        outcap = SPK_TAPE_MAXBLOCK;
    rc = payload(s, b, out, outcap, &scratch, err);
    free(scratch);
    if (rc >= 0)
        b->length = (uint32_t)rc;
    return rc;
}

static void put_aws_hdr(uint8_t *p, uint32_t clen, uint32_t plen, uint8_t f1)
{
    spk_put_le16(p, clen);
    spk_put_le16(p + 2, plen);
    p[4] = f1;
    p[5] = 0;
}

/* spk_tape_build_block with an optional caller scratch of at least len bytes
 * for the compressed copy (NULL: allocated here). */
static int build(const uint8_t *data, size_t len, int format, int method, int level,
                 uint32_t chunksize, uint32_t prev, uint8_t *out, size_t outcap,
                 uint32_t *last, uint32_t *stored, uint8_t *scratch, spk_errinfo *err)
{
    const uint8_t *src = data;
    size_t slen = len, need, pos = 0, done = 0;
    uint8_t *tmp = NULL, *ctmp = scratch, bits = 0;

    if (!out || (!data && len))
        return spk_fail(err, SPK_EARG, -1, -1, "missing buffer");
    if (len > SPK_TAPE_MAXBLOCK)
        return spk_fail(err, SPK_EARG, -1, -1, "block of %zu bytes exceeds %d", len,
                        SPK_TAPE_MAXBLOCK);
    if (format == SPK_TAPE_FAKETAPE) {
        char hdr[SPK_TAPE_FKT_HDR + 1];
        if (len > 0xFFFF)
            return spk_fail(err, SPK_EARG, -1, -1,
                            "FakeTape blocks hold at most 65535 bytes, not %zu", len);
        if (method != SPK_COMP_NONE)
            return spk_fail(err, SPK_EARG, -1, -1, "FakeTape has no compression");
        if (prev > 0xFFFF)
            return spk_fail(err, SPK_EARG, -1, -1, "previous block length out of range");
        if (outcap < SPK_TAPE_FKT_HDR + len)
            return spk_fail(err, SPK_EBUFSIZE, -1, -1, "output buffer too small");
        snprintf(hdr, sizeof hdr, "%04X%04X%04X", prev, (unsigned)len,
                 prev ^ (unsigned)len);
        memcpy(out, hdr, SPK_TAPE_FKT_HDR);
        if (len)
            memcpy(out + SPK_TAPE_FKT_HDR, data, len);
        if (last) *last = (uint32_t)len;
        if (stored) *stored = (uint32_t)len;
        return (int)(SPK_TAPE_FKT_HDR + len);
    }
    if (format != SPK_TAPE_AWS)
        return spk_fail(err, SPK_EARG, -1, -1, "unknown tape format %d", format);
    if (prev > 0xFFFF)
        return spk_fail(err, SPK_EARG, -1, -1, "previous chunk length out of range");
    if (!data) { /* tapemark */
        if (outcap < SPK_TAPE_AWS_HDR)
            return spk_fail(err, SPK_EBUFSIZE, -1, -1, "output buffer too small");
        put_aws_hdr(out, 0, prev, SPK_TAPE_TM);
        if (last) *last = 0;
        if (stored) *stored = 0;
        return SPK_TAPE_AWS_HDR;
    }
    if (chunksize < 1 || chunksize > SPK_TAPE_MAXCHUNK)
        return spk_fail(err, SPK_EARG, -1, -1, "chunk size %u outside 1..65535", chunksize);
    if (method != SPK_COMP_NONE && len > 0) {
        /* compress the whole block; keep it only when it is smaller */
        if (!ctmp) {
            ctmp = tmp = malloc(len);
            if (!tmp)
                return spk_fail(err, SPK_ENOMEM, -1, -1, "out of memory");
        }
        int rc = spk_compress(method, level, data, len, ctmp, len - 1, NULL);
        if (rc > 0) {
            src = ctmp;
            slen = (size_t)rc;
            bits = (uint8_t)method;
        } else if (rc != SPK_EBUFSIZE && rc < 0) {
            free(tmp);
            return spk_fail(err, rc, -1, -1, "compression failed");
        }
    }
    need = slen + ((slen + chunksize - 1) / chunksize + (slen == 0)) * SPK_TAPE_AWS_HDR;
    if (need > outcap) {
        free(tmp);
        return spk_fail(err, SPK_EBUFSIZE, -1, -1, "output buffer too small (%zu < %zu)",
                        outcap, need);
    }
    do {
        size_t c = slen - done < chunksize ? slen - done : chunksize;
        uint8_t f1 = bits;
        if (done == 0)
            f1 |= SPK_TAPE_BOR;
        if (done + c == slen)
            f1 |= SPK_TAPE_EOR;
        put_aws_hdr(out + pos, (uint32_t)c, prev, f1);
        memcpy(out + pos + SPK_TAPE_AWS_HDR, src + done, c);
        pos += SPK_TAPE_AWS_HDR + c;
        done += c;
        prev = (uint32_t)c;
    } while (done < slen);
    free(tmp);
    if (last) *last = prev;
    if (stored) *stored = (uint32_t)slen;
    return (int)pos;
}

int spk_tape_build_block(const uint8_t *data, size_t len, int format, int method, int level,
                         uint32_t chunksize, uint32_t prev, uint8_t *out, size_t outcap,
                         uint32_t *last, uint32_t *stored, spk_errinfo *err)
{
    /* the compressed copy goes to this thread's scratch (NULL: build allocates) */
    uint8_t *tmp = NULL;

    if (method != SPK_COMP_NONE && len && len <= SPK_TAPE_MAXBLOCK)
        tmp = spk_scratch(SPK_SCRATCH_TAPE_COMP, len);

    return build(data, len, format, method, level, chunksize, prev, out, outcap, last, stored,
                 tmp, err);
}

int spk_tape_split(const spk_tape_src *s, uint64_t off, uint64_t target, uint64_t *next,
                   spk_errinfo *err)
{
    uint64_t p = off;

    if (!next)
        return spk_fail(err, SPK_EARG, -1, -1, "missing output");
    *next = off;
    while (p - off < target) {
        spk_tape_block b;
        int rc = scan(s, p, 1, &b, err);
        if (rc < 0) {
            *next = p;
            return rc;
        }
        if (rc == 1)
            break;
        p = b.next;
    }
    *next = p;
    return 0;
}

/* Worst-case framed size of a block of n data bytes. */
static size_t framed_bound(size_t n, int format, uint32_t chunksize)
{
    if (format == SPK_TAPE_FAKETAPE)
        return SPK_TAPE_FKT_HDR + n;
    return n + (n / chunksize + 2) * SPK_TAPE_AWS_HDR;
}

int spk_tape_recode(const spk_tape_src *s, uint64_t off, uint64_t end, int dstformat,
                    int dstmethod, int level, uint32_t chunksize, uint32_t prev,
                    uint8_t *out, size_t outcap, spk_tape_recode_stat *st, spk_errinfo *err)
{
    spk_tape_src w;
    uint8_t *data = NULL, *ctmp = NULL, *scratch = NULL;
    size_t pos = 0;
    int rc = 0;

    if (!s || !st || !out || end > s->size || off > end || outcap > INT_MAX)
        return spk_fail(err, SPK_EARG, -1, -1, "bad recode arguments");
    w = *s;
    w.size = end;   /* blocks past end are not ours */
    if (w.base > w.size)
        w.base = w.size;
    if (w.len > w.size - w.base)
        w.len = w.size - w.base;
    if (dstformat == SPK_TAPE_AWS && (chunksize < 1 || chunksize > SPK_TAPE_MAXCHUNK))
        return spk_fail(err, SPK_EARG, -1, -1, "chunk size %u outside 1..65535", chunksize);
    memset(st, 0, sizeof *st);
    st->next = off;
    st->last = prev;
    data = spk_scratch(SPK_SCRATCH_TAPE_DATA, SPK_TAPE_MAXBLOCK);
    ctmp = spk_scratch(SPK_SCRATCH_TAPE_COMP, SPK_TAPE_MAXBLOCK);
    if (!data || !ctmp) {
        rc = spk_fail(err, SPK_ENOMEM, -1, -1, "out of memory");
        goto done;
    }
    while (st->next < end) {
        spk_tape_block b;
        const uint8_t *src;
        size_t n;
        uint32_t last = 0;

        rc = scan(&w, st->next, 1, &b, err);
        if (rc < 0)
            goto done;
        if (b.tapemark) {
            n = 0;
            src = NULL;
        } else if (b.method == SPK_COMP_NONE && (b.chunks == 1 || w.format == SPK_TAPE_FAKETAPE)) {
            n = b.stored;   /* one piece: framed again straight from the source */
            src = at(&w, b.offset + (w.format == SPK_TAPE_FAKETAPE ? SPK_TAPE_FKT_HDR
                                                                    : SPK_TAPE_AWS_HDR), n);
        } else {
            rc = payload(&w, &b, data, SPK_TAPE_MAXBLOCK, &scratch, err);
            if (rc < 0)
                goto done;
            n = (size_t)rc;
            src = data;
        }
        if (!b.tapemark && n == 0) {
            rc = spk_fail(err, SPK_EFORMAT, (int64_t)b.offset, -1,
                          "block at offset %llu holds no data", (unsigned long long)b.offset);
            goto done;
        }
        if (framed_bound(n, dstformat, chunksize) > outcap - pos) {
            if (pos == 0) {
                rc = spk_fail(err, SPK_EBUFSIZE, (int64_t)b.offset, -1,
                              "output buffer of %zu bytes cannot hold the block at offset %llu",
                              outcap, (unsigned long long)b.offset);
                goto done;
            }
            break;  /* the caller continues from st->next with a fresh buffer */
        }
        rc = build(src, n, dstformat, dstmethod, level, chunksize, st->last, out + pos,
                   outcap - pos, &last, NULL, ctmp, err);
        if (rc < 0) {
            if (err)
                at_block(err, b.offset);
            goto done;
        }
        pos += (size_t)rc;
        st->last = last;
        st->next = b.next;
        if (b.tapemark) {
            st->tapemarks++;
        } else {
            st->blocks++;
            st->bytes += n;
        }
    }
    rc = (int)pos;
done:
    free(scratch);
    return rc;
}

int spk_tape_walk(const spk_tape_src *s, spk_tape_walk_state *w, spk_tape_filestat *files,
                  size_t maxfiles, spk_errinfo *err)
{
    size_t n = 0;
    uint8_t *out = NULL, *scratch = NULL;
    int rc = 0;

    if (!s || !w)
        return spk_fail(err, SPK_EARG, -1, -1, "missing walk state");
    w->stop = SPK_TAPE_STOP_END;
    if (w->decompress) {
        out = spk_scratch(SPK_SCRATCH_TAPE_DATA, SPK_TAPE_MAXBLOCK);
        if (!out)
            return spk_fail(err, SPK_ENOMEM, -1, -1, "out of memory");
    }
    for (;;) {
        spk_tape_block b;
        spk_tape_filestat *cur = &w->cur;
        uint32_t size;

        if (w->max_marks && w->marks_left == 0) {
            w->stop = SPK_TAPE_STOP_MARKS;
            break;
        }
        if (files && n == maxfiles) {
            w->stop = SPK_TAPE_STOP_FULL;
            break;
        }
        /* headers only; the payload too when it is to be inflated */
        rc = scan(s, w->off, 0, &b, err);
        if (rc == 0 && w->decompress && !b.tapemark && b.method != SPK_COMP_NONE &&
            !at(s, b.offset, b.next - b.offset))
            rc = window_end(err, b.offset, b.next - b.offset);
        if (rc == SPK_EWINDOW) {
            w->stop = SPK_TAPE_STOP_WINDOW;
            w->need = err ? (uint64_t)err->index : 0;
            rc = 0;
            break;
        }
        if (rc < 0)
            goto done;
        if (rc == 1) {
            /* the blocks after the last tapemark make one more file */
            if (cur->blocks && files) {
                if (n == maxfiles) {
                    w->stop = SPK_TAPE_STOP_FULL;
                    break;
                }
                files[n++] = *cur;
                memset(cur, 0, sizeof *cur);
            }
            break;
        }
        w->blocks++;
        if (b.tapemark) {
            w->tapemarks++;
            if (w->trailing < 2)
                w->mark[w->trailing] = w->off;
            else {
                w->mark[0] = w->mark[1];
                w->mark[1] = w->off;
            }
            w->trailing++;
            if (files)
                files[n++] = *cur;
            memset(cur, 0, sizeof *cur);
            w->last = s->format == SPK_TAPE_AWS ? 0 : b.last_chunk;
            w->off = b.next;
            if (w->max_marks)
                w->marks_left--;
            continue;
        }
        if (cur->blocks == 0)
            cur->first_offset = w->off;
        size = b.stored;
        if (b.method != SPK_COMP_NONE && w->decompress) {
            rc = payload(s, &b, out, SPK_TAPE_MAXBLOCK, &scratch, err);
            if (rc < 0)
                goto done;
            size = (uint32_t)rc;
        }
        if (cur->blocks == 0 || size < cur->min_block) cur->min_block = size;
        if (size > cur->max_block) cur->max_block = size;
        if (cur->blocks == 0 || b.stored < cur->min_stored) cur->min_stored = b.stored;
        if (b.stored > cur->max_stored) cur->max_stored = b.stored;
        cur->blocks++;
        cur->bytes += size;
        cur->stored += b.stored;
        w->data_blocks++;
        w->trailing = 0;
        w->data_end = b.next;
        w->last = b.last_chunk;
        w->off = b.next;
    }
    rc = (int)n;
done:
    free(scratch);
    return rc;
}

/* Read want bytes of the file from off into buf (cap bytes) and point s at
 * them; a short read means the file shrank: its size is then where it ended. */
static int fill(int fd, spk_tape_src *s, uint8_t *buf, size_t cap, uint64_t off, uint64_t want,
                spk_errinfo *err)
{
    struct stat st;
    uint64_t got = 0;

    if (fstat(fd, &st) < 0)
        return spk_fail(err, SPK_EIO, (int64_t)off, errno, "cannot stat the tape: %s",
                        strerror(errno));
    s->size = (uint64_t)st.st_size;
    if (off > s->size)
        off = s->size;
    if (want > cap)
        want = cap;
    if (want > s->size - off)
        want = s->size - off;
    while (got < want) {
        ssize_t k = pread(fd, buf + got, want - got, (off_t)(off + got));
        if (k < 0 && errno == EINTR)
            continue;
        if (k < 0)
            return spk_fail(err, SPK_EIO, (int64_t)(off + got), errno, "read failed: %s",
                            strerror(errno));
        if (k == 0)
            break;
        got += (uint64_t)k;
    }
    if (got < want)
        s->size = off + got;
    s->buf = buf;
    s->base = off;
    s->len = got;
    return 0;
}

int spk_tape_walk_fd(int fd, spk_tape_src *s, uint8_t *buf, size_t cap, uint64_t wide,
                     spk_tape_walk_state *w, spk_tape_filestat *files, size_t maxfiles,
                     spk_errinfo *err)
{
    /* Where blocks are large and only headers are needed, each read is one
     * header (a skipped payload is never read); elsewhere reads are wide. */
    const uint64_t header = s && s->format == SPK_TAPE_FAKETAPE ? SPK_TAPE_FKT_HDR
                                                                 : SPK_TAPE_AWS_HDR;
    int sparse = 0, dense = 0, rc;
    size_t n = 0;

    if (!s || !w || !buf || cap < SPK_TAPE_FKT_HDR)
        return spk_fail(err, SPK_EARG, -1, -1, "bad walk arguments");
    if (wide > cap)
        wide = cap;
    if (!s->buf || w->off < s->base || w->off > s->base + s->len) {
        rc = fill(fd, s, buf, cap, w->off, wide, err);
        if (rc < 0)
            return rc;
    }
    for (;;) {
        uint64_t blocks = w->blocks, at;
        rc = spk_tape_walk(s, w, files ? files + n : NULL, files ? maxfiles - n : 0, err);
        if (rc < 0)
            return rc;
        n += (size_t)rc;
        if (w->stop != SPK_TAPE_STOP_WINDOW)
            return (int)n;
        at = w->off;
        if (at == s->base) {
            /* the block needs more than this window (its payload, or many chunks) */
            uint64_t want = w->need + 65536;
            if (s->len >= SPK_TAPE_MAXSPAN)
                return spk_fail(err, SPK_EFORMAT, (int64_t)at, -1,
                                "block at offset %llu spans more than %d bytes",
                                (unsigned long long)at, SPK_TAPE_MAXSPAN);
            dense |= sparse;
            sparse = 0;
            if (want < wide)
                want = wide;
            if (want < 2 * s->len)
                want = 2 * s->len;
            if (want > (uint64_t)SPK_TAPE_MAXSPAN + 65536)
                want = (uint64_t)SPK_TAPE_MAXSPAN + 65536;
            if (want > cap && s->size - at > cap) {
                s->buf = NULL;   /* the caller gives a larger buffer and calls again */
                if (n)
                    return (int)n;   /* w->stop is SPK_TAPE_STOP_WINDOW */
                return spk_fail(err, SPK_EBUFSIZE, (int64_t)at, (int64_t)want,
                                "the block at offset %llu needs a %llu-byte window",
                                (unsigned long long)at, (unsigned long long)want);
            }
            rc = fill(fd, s, buf, cap, at, want, err);
        } else {
            uint64_t span = (at - s->base) / (w->blocks > blocks ? w->blocks - blocks : 1);
            sparse = !dense && span >= 2048;
            rc = fill(fd, s, buf, cap, at, sparse ? header : wide, err);
        }
        if (rc < 0)
            return rc;
    }
}


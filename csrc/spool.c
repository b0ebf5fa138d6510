/* spool.c - spool file data pages: VM/370 SPLINK pages holding z/VM
 * DIAGNOSE X'14' CCW entries (design.md section 4, zvm-spool.md 2.1-2.3).
 *
 * A record stream is three arrays: data (all record bytes back to back),
 * ops (one CCW opcode per record) and ends (cumulative end offset of each
 * record's data).  Pack turns a whole stream into a chain of pages in one
 * call; unpack turns a batch of pages back into the arrays, checking every
 * field it relies on against the page before use, and keeps its position in
 * spk_spool_chain so a long chain can be walked a batch at a time.
 */
#include "internal.h"

enum {
    PAGE = 4096,
    DATA_START = 0x010,
    DATA_END = 0xFC0,          /* z/VM SPSIZORG: CCWs and data end here */
    RAW_DATA_END = 0xFE0,      /* vmur's splink_page: data[4048], then the record length */
    OFF_NODE = 0xFC0,
    OFF_USER = 0xFC8,
    OFF_TRAILER = 0xFD0,       /* 3800 fields (40 bytes, first page only) */
    OFF_CRC = 0xFD4,           /* inside SPRSVD1 */
    OFF_FILID = 0xFF8,
    OFF_TIME = 0xFFA,
    TAGLEN = 136,
    ENTRY_HDR = 12,            /* CCW (8) + TIC halfword (2) + entry length (2) */
    IMMED_LEN = 8,
    CCW_NOP = 0x03,
    CCW_SKIP = 0x10            /* "immediate" entry: the CCW alone */
};

static inline size_t round8(size_t n) { return (n + 7) & ~(size_t)7; }

/* CP removes trailing blanks; a blank-only record keeps one blank. */
static inline size_t stripped_len(const uint8_t *d, size_t n)
{
    while (n > 1 && d[n - 1] == 0x40)
        n--;
    return n;
}

static inline int is_immediate(uint8_t op, size_t len) { return len == 0 && (op & 3) == 3; }

static int record_span(const uint8_t *data, size_t datalen, const uint32_t *ends, size_t i,
                       size_t *start, size_t *len, spk_errinfo *err)
{
    size_t s = i ? ends[i - 1] : 0, e = ends[i];
    if (e < s || e > datalen)
        return spk_fail(err, SPK_EARG, -1, (int64_t)i,
                        "record %zu: end offset %zu outside the data (%zu bytes)", i, e, datalen);
    *start = s;
    *len = stripped_len(data + s, e - s);
    if (*len > SPK_SPOOL_MAXREC)
        return spk_fail(err, SPK_EARG, -1, (int64_t)i,
                        "record %zu has %zu data bytes; a spool page holds at most %d", i, *len,
                        (int)SPK_SPOOL_MAXREC);
    return 0;
}

int64_t spk_spool_measure(const uint8_t *data, size_t datalen, const uint8_t *ops,
                          const uint32_t *ends, size_t n, uint32_t *maxlen, spk_errinfo *err)
{
    int64_t pages = 1;
    size_t pos = DATA_START + round8(ENTRY_HDR + TAGLEN), start, len;
    uint32_t maxl = 0;
    for (size_t i = 0; i < n; i++) {
        int rc = record_span(data, datalen, ends, i, &start, &len, err);
        if (rc)
            return rc;
        size_t size = is_immediate(ops[i], len) ? IMMED_LEN : round8(ENTRY_HDR + len);
        if (pos + size > DATA_END) {
            pages++;
            pos = DATA_START;
        }
        pos += size;
        if (len > maxl)
            maxl = (uint32_t)len;
    }
    if (maxlen)
        *maxlen = maxl;
    return pages;
}

uint32_t spk_spool_page_crc(const uint8_t *page)
{
    uint32_t c = spk_crc32c(0, page, OFF_CRC);
    return spk_crc32c(c, page + OFF_CRC + 4, PAGE - OFF_CRC - 4);
}

static void finish_page(uint8_t *pg, size_t i, size_t npages, const uint32_t *addrs,
                        uint32_t entries, spk_spool_chain *ch)
{
    int raw = ch->flags & SPK_SPOOL_RAW;
    spk_put_be32(pg + 0x0, raw || i + 1 == npages ? 0 : addrs[i + 1]);
    spk_put_be32(pg + 0x4, raw || i == 0 ? 0 : addrs[i - 1]);
    spk_put_be32(pg + 0x8, raw ? 0 : (uint32_t)(i + 1));
    spk_put_be32(pg + 0xC, entries);
    memcpy(pg + OFF_NODE, ch->node, 8);
    memcpy(pg + OFF_USER, ch->user, 8);
    if (i == 0) {
        memcpy(pg + OFF_TRAILER, ch->trailer, sizeof ch->trailer);
        memset(pg + OFF_CRC, 0, 12);
    }
    spk_put_be16(pg + OFF_FILID, ch->spoolid);
    memcpy(pg + OFF_TIME, ch->time, 6);
    if (!raw)
        spk_put_be32(pg + OFF_CRC, spk_spool_page_crc(pg));
    ch->data_crc = spk_crc32c(ch->data_crc, pg, PAGE);
}

int64_t spk_spool_pack(uint8_t *out, size_t outlen, const uint32_t *addrs, size_t npages,
                       const uint8_t *tag, const uint8_t *data, size_t datalen,
                       const uint8_t *ops, const uint32_t *ends, size_t n,
                       spk_spool_chain *ch, spk_errinfo *err)
{
    if (npages == 0 || outlen / PAGE < npages)
        return spk_fail(err, SPK_EBUFSIZE, -1, -1, "output holds %zu pages, %zu needed",
                        outlen / PAGE, npages);
    if (!addrs && !(ch->flags & SPK_SPOOL_RAW))
        return spk_fail(err, SPK_EARG, -1, -1, "page addresses are required");
    for (size_t i = 0; addrs && i < npages; i++)
        if (addrs[i] == 0)
            return spk_fail(err, SPK_EARG, -1, (int64_t)i, "page address %zu is 0", i);
    ch->data_crc = 0;
    size_t page = 0, pos = DATA_START, start, len;
    uint32_t entries = 1;
    uint8_t *pg = out;
    memset(pg, 0, PAGE);
    /* the tag: NOP with 136 bytes of text */
    pg[pos] = CCW_NOP;
    spk_put_be16(pg + pos + 6, TAGLEN);
    pg[pos + 8] = 0x08;
    spk_put_be16(pg + pos + 10, (uint32_t)round8(ENTRY_HDR + TAGLEN));
    memcpy(pg + pos + ENTRY_HDR, tag, TAGLEN);
    pos += round8(ENTRY_HDR + TAGLEN);
    for (size_t i = 0; i < n; i++) {
        int rc = record_span(data, datalen, ends, i, &start, &len, err);
        if (rc)
            return rc;
        int immed = is_immediate(ops[i], len);
        size_t size = immed ? IMMED_LEN : round8(ENTRY_HDR + len);
        if (pos + size > DATA_END) {
            finish_page(pg, page, npages, addrs, entries, ch);
            if (++page >= npages)
                return spk_fail(err, SPK_EARG, -1, (int64_t)i,
                                "records need more than the %zu pages given", npages);
            pg = out + page * PAGE;
            memset(pg, 0, PAGE);
            pos = DATA_START;
            entries = 0;
        }
        uint8_t *e = pg + pos;
        e[0] = ops[i];
        if (immed) {
            e[4] = CCW_SKIP;
        } else {
            spk_put_be16(e + 6, (uint32_t)len);
            e[8] = 0x08;
            spk_put_be16(e + 10, (uint32_t)size);
            memcpy(e + ENTRY_HDR, data + start, len);
        }
        pos += size;
        entries++;
    }
    finish_page(pg, page, npages, addrs, entries, ch);
    if (page + 1 != npages)
        return spk_fail(err, SPK_EARG, -1, -1, "records fill %zu pages, %zu given", page + 1,
                        npages);
    return (int64_t)npages;
}

int64_t spk_spool_unpack(const uint8_t *pages, size_t len, const uint32_t *addrs, size_t npages,
                         spk_spool_chain *ch, uint8_t *data, size_t datacap, uint8_t *ops,
                         uint32_t *ends, size_t maxrec, uint64_t *datalen, spk_errinfo *err)
{
    size_t nrec = 0, dlen = 0;
    int raw = ch->flags & SPK_SPOOL_RAW;
    if (len / PAGE < npages)
        return spk_fail(err, SPK_ETRUNC, (int64_t)len, (int64_t)(len / PAGE),
                        "%zu bytes hold %zu whole pages, %zu expected", len, len / PAGE, npages);
    for (size_t i = 0; i < npages; i++) {
        const uint8_t *pg = pages + i * PAGE;
        int64_t base = (int64_t)(i * PAGE);
        uint32_t seq = ch->seq + 1;
        int64_t own = addrs ? (int64_t)addrs[i] : (ch->seq ? (int64_t)ch->next : -1);
        if (ch->npages && seq > ch->npages)
            return spk_fail(err, SPK_EFORMAT, base, (int64_t)i,
                            "chain has more than its %u pages", ch->npages);
        if (!raw && !(ch->flags & SPK_SPOOL_NOCRC)) {
            uint32_t want = spk_be32(pg + OFF_CRC), got = spk_spool_page_crc(pg);
            if (want != got)
                return spk_fail(err, SPK_ECRC, base + OFF_CRC, (int64_t)i,
                                "page %u of the file: CRC-32C %08X, stored %08X", seq, got,
                                want);
        }
        if (!(ch->flags & SPK_SPOOL_ANYID) && spk_be16(pg + OFF_FILID) != ch->spoolid)
            return spk_fail(err, SPK_EFORMAT, base + OFF_FILID, (int64_t)i,
                            "page %u belongs to spool ID %u, not %u", seq,
                            spk_be16(pg + OFF_FILID), ch->spoolid);
        if ((ch->flags & SPK_SPOOL_CHKTIME) && memcmp(pg + OFF_TIME, ch->time, 6) != 0)
            return spk_fail(err, SPK_EFORMAT, base + OFF_TIME, (int64_t)i,
                            "page %u: SPTIME differs from the file's creation time", seq);
        uint32_t next = spk_be32(pg), prev = spk_be32(pg + 4);
        if (!raw) {
            if (spk_be32(pg + 8) != seq)
                return spk_fail(err, SPK_EFORMAT, base + 8, (int64_t)i,
                                "page sequence number %u, expected %u", spk_be32(pg + 8), seq);
            if (ch->seq == 0 ? prev != 0 : (ch->prev >= 0 && prev != (uint32_t)ch->prev))
                return spk_fail(err, SPK_EFORMAT, base + 4, (int64_t)i,
                                "backward link %08X, expected %08X", prev,
                                ch->seq ? (uint32_t)ch->prev : 0);
            if (ch->seq && addrs && addrs[i] != ch->next)
                return spk_fail(err, SPK_EFORMAT, base, (int64_t)i,
                                "page read at %08X, the previous page links to %08X", addrs[i],
                                ch->next);
            if (ch->npages && seq == ch->npages && next != 0)
                return spk_fail(err, SPK_EFORMAT, base, (int64_t)i,
                                "last page (%u) links on to %08X", seq, next);
            if (next == 0 && (ch->npages ? seq < ch->npages : i + 1 < npages))
                return spk_fail(err, SPK_ETRUNC, base, (int64_t)i,
                                "chain ends after page %u of %u", seq,
                                ch->npages ? ch->npages : (uint32_t)(ch->seq + npages));
        }
        uint32_t count = spk_be32(pg + 0xC);
        size_t pos = DATA_START, end = raw ? RAW_DATA_END : DATA_END;
        for (uint32_t k = 0; k < count; k++) {
            if (pos + IMMED_LEN > end)
                return spk_fail(err, SPK_EFORMAT, base + (int64_t)pos, (int64_t)i,
                                "entry %u of %u runs past the data area", k + 1, count);
            const uint8_t *e = pg + pos;
            uint8_t op = e[0];
            /* vmur (convert_sfdata) takes a NOP's length field whatever its flags */
            if ((e[4] & CCW_SKIP) && !(raw && op == CCW_NOP)) {
                /* vmur skips one of a data command too; in the model an empty record of
                   a data command is a 0-byte data record, which vmur would pad: left out */
                if (!raw || (op & 3) == 3) {
                    if (nrec >= maxrec)
                        return spk_fail(err, SPK_EBUFSIZE, base + (int64_t)pos, (int64_t)i,
                                        "more than %zu records", maxrec);
                    ops[nrec] = op;
                    ends[nrec++] = (uint32_t)dlen;
                }
                pos += IMMED_LEN;
                continue;
            }
            if (pos + ENTRY_HDR > end)
                return spk_fail(err, SPK_EFORMAT, base + (int64_t)pos, (int64_t)i,
                                "entry %u of %u runs past the data area", k + 1, count);
            size_t cnt = spk_be16(e + 6), elen = spk_be16(e + 10);
            if (pos + ENTRY_HDR + cnt > end)
                return spk_fail(err, SPK_EFORMAT, base + (int64_t)pos + 6, (int64_t)i,
                                "entry %u: %zu data bytes run past the data area", k + 1, cnt);
            if (elen < ENTRY_HDR + cnt)
                return spk_fail(err, SPK_EFORMAT, base + (int64_t)pos + 10, (int64_t)i,
                                "entry %u: length %zu is shorter than its %zu data bytes + 12",
                                k + 1, elen, cnt);
            if (!raw && (elen & 7))
                return spk_fail(err, SPK_EFORMAT, base + (int64_t)pos + 10, (int64_t)i,
                                "entry %u: length %zu is not a multiple of 8", k + 1, elen);
            if (ch->seq == 0 && k == 0 && op == CCW_NOP) {
                if (cnt > TAGLEN)
                    return spk_fail(err, SPK_EFORMAT, base + (int64_t)pos + 6, (int64_t)i,
                                    "tag record of %zu bytes (at most %d)", cnt, TAGLEN);
                memset(ch->tag, 0x40, TAGLEN);
                memcpy(ch->tag, e + ENTRY_HDR, cnt);
                ch->have_tag = 1;
            } else if (!(raw && op == CCW_NOP)) {      /* vmur skips every NOP entry */
                /* a 0-byte entry of a control command is a data record to vmur (padded
                   like one blank); in the model it would be an immediate CCW */
                int blank = raw && cnt == 0 && (op & 3) == 3;
                size_t take = blank ? 1 : (ch->flags & SPK_SPOOL_STRIP)
                                          ? stripped_len(e + ENTRY_HDR, cnt) : cnt;
                if (nrec >= maxrec || dlen + take > datacap)
                    return spk_fail(err, SPK_EBUFSIZE, base + (int64_t)pos, (int64_t)i,
                                    "output buffers too small");
                if (blank)
                    data[dlen] = 0x40;
                else
                    memcpy(data + dlen, e + ENTRY_HDR, take);
                dlen += take;
                ops[nrec] = op;
                ends[nrec++] = (uint32_t)dlen;
            }
            pos += elen;
        }
        ch->data_crc = spk_crc32c(ch->data_crc, pg, PAGE);
        ch->prev = own;
        ch->next = next;
        ch->seq = seq;
    }
    if (datalen)
        *datalen = dlen;
    ch->records += nrec;
    return (int64_t)nrec;
}

void spk_spool_rebase(uint32_t *ends, size_t n, uint32_t base)
{
    for (size_t i = 0; i < n; i++)
        ends[i] += base;
}

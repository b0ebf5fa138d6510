/* cckd.c - compressed CKD / FBA (CCKD, CCKD64, CFBA): headers, L1/L2
 * tables, stored track images, the free-space chain and space maps.
 *
 * Metadata is in the writer's host order (option bit X'02' = big-endian);
 * we read both and always write little-endian.  cdh_cyls is always LE.
 */
#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

#include "internal.h"

#define HA_LEN 5
#define SPK_NULL2_LEN 49277     /* a null track of format 2 */
#define BASE_ID_MAGIC "SPKBASE1"  /* in resv2, which Hercules keeps and ignores */

static uint16_t rd16(const uint8_t *p, int be) { return be ? spk_be16(p) : spk_le16(p); }
static uint32_t rd32(const uint8_t *p, int be) { return be ? spk_be32(p) : spk_le32(p); }
static uint64_t rd64(const uint8_t *p, int be) { return be ? spk_be64(p) : spk_le64(p); }

/* ---- device header ------------------------------------------------------ */

int spk_cckd_hdr_parse(const uint8_t *buf, size_t len, int is64, spk_cckd_hdr *out,
                       spk_errinfo *err)
{
    int be;

    if (!buf || !out)
        return spk_fail(err, SPK_EARG, -1, -1, "no buffer");
    if (len < 512)
        return spk_fail(err, SPK_ETRUNC, (int64_t)len, -1,
                        "compressed device header needs 512 bytes, have %zu", len);
    memset(out, 0, sizeof *out);
    memcpy(out->vrm, buf, 3);
    out->opts = buf[3];
    be = (buf[3] & SPK_CCKD_OPT_BIGEND) != 0;
    out->num_l1 = (int32_t)rd32(buf + 4, be);
    out->num_l2 = (int32_t)rd32(buf + 8, be);
    if (is64) {
        out->cyls = spk_le32(buf + 12);
        out->size = rd64(buf + 16, be);
        out->used = rd64(buf + 24, be);
        out->free_off = rd64(buf + 32, be);
        out->free_total = rd64(buf + 40, be);
        out->free_largest = rd64(buf + 48, be);
        out->free_num = (int64_t)rd64(buf + 56, be);
        out->free_imbed = rd64(buf + 64, be);
        out->nullfmt = buf[72];
        out->algo = buf[73];
        out->parm = (int16_t)rd16(buf + 74, be);
    } else {
        out->size = rd32(buf + 12, be);
        out->used = rd32(buf + 16, be);
        out->free_off = rd32(buf + 20, be);
        out->free_total = rd32(buf + 24, be);
        out->free_largest = rd32(buf + 28, be);
        out->free_num = (int32_t)rd32(buf + 32, be);
        out->free_imbed = rd32(buf + 36, be);
        out->cyls = spk_le32(buf + 40);
        out->nullfmt = buf[44];
        out->algo = buf[45];
        out->parm = (int16_t)rd16(buf + 46, be);
    }
    if (memcmp(buf + SPK_CCKD_BASE_ID_POS, BASE_ID_MAGIC, 8) == 0) {
        out->has_base_id = 1;
        out->base_id = spk_le32(buf + SPK_CCKD_BASE_ID_POS + 8);
    }
    if (out->num_l1 <= 0)
        return spk_fail(err, SPK_EFORMAT, 4, -1, "L1 table size %d is not positive", out->num_l1);
    if (out->num_l2 != SPK_CCKD_L2_ENTRIES)
        return spk_fail(err, SPK_EFORMAT, 8, -1, "L2 table size %d, expected 256", out->num_l2);
    if (out->algo > 2)
        return spk_fail(err, SPK_EFORMAT, is64 ? 73 : 45, -1,
                        "unknown compression code %u", out->algo);
    if (out->nullfmt > 2)  /* Hercules treats these as 0 */
        out->nullfmt = 0;
    return SPK_OK;
}

int spk_cckd_hdr_build(uint8_t *out, size_t outlen, int is64, const spk_cckd_hdr *h,
                       spk_errinfo *err)
{
    if (!out || !h)
        return spk_fail(err, SPK_EARG, -1, -1, "no buffer");
    if (outlen < 512)
        return spk_fail(err, SPK_EBUFSIZE, -1, -1, "need 512 bytes for the header");
    if (!is64 && (h->size > 0xFFFFFFFFu || h->used > 0xFFFFFFFFu || h->free_off > 0xFFFFFFFFu
                  || h->free_total > 0xFFFFFFFFu))
        return spk_fail(err, SPK_ENOSPACE, -1, -1,
                        "file size %llu exceeds the 4 GB limit of CCKD; use CCKD64",
                        (unsigned long long)h->size);
    memset(out, 0, 512);
    memcpy(out, h->vrm, 3);
    out[3] = (uint8_t)(h->opts & ~SPK_CCKD_OPT_BIGEND);
    spk_put_le32(out + 4, (uint32_t)h->num_l1);
    spk_put_le32(out + 8, (uint32_t)h->num_l2);
    if (is64) {
        spk_put_le32(out + 12, h->cyls);
        spk_put_le64(out + 16, h->size);
        spk_put_le64(out + 24, h->used);
        spk_put_le64(out + 32, h->free_off);
        spk_put_le64(out + 40, h->free_total);
        spk_put_le64(out + 48, h->free_largest);
        spk_put_le64(out + 56, (uint64_t)h->free_num);
        spk_put_le64(out + 64, h->free_imbed);
        out[72] = h->nullfmt;
        out[73] = h->algo;
        spk_put_le16(out + 74, (uint16_t)h->parm);
    } else {
        spk_put_le32(out + 12, (uint32_t)h->size);
        spk_put_le32(out + 16, (uint32_t)h->used);
        spk_put_le32(out + 20, (uint32_t)h->free_off);
        spk_put_le32(out + 24, (uint32_t)h->free_total);
        spk_put_le32(out + 28, (uint32_t)h->free_largest);
        spk_put_le32(out + 32, (uint32_t)h->free_num);
        spk_put_le32(out + 36, (uint32_t)h->free_imbed);
        spk_put_le32(out + 40, h->cyls);
        out[44] = h->nullfmt;
        out[45] = h->algo;
        spk_put_le16(out + 46, (uint16_t)h->parm);
    }
    if (h->has_base_id) {
        memcpy(out + SPK_CCKD_BASE_ID_POS, BASE_ID_MAGIC, 8);
        spk_put_le32(out + SPK_CCKD_BASE_ID_POS + 8, h->base_id);
    }
    return 512;
}

/* ---- L1 / L2 tables ----------------------------------------------------- */

int spk_cckd_l1_decode(const uint8_t *buf, size_t len, uint32_t n, int is64, int bigend,
                       uint64_t *out, spk_errinfo *err)
{
    size_t esz = is64 ? 8 : 4;

    if (!buf || !out)
        return spk_fail(err, SPK_EARG, -1, -1, "no buffer");
    if ((size_t)n * esz > len)
        return spk_fail(err, SPK_ETRUNC, (int64_t)len, -1,
                        "L1 table of %u entries needs %zu bytes, have %zu", n, n * esz, len);
    for (uint32_t i = 0; i < n; i++) {
        if (is64) {
            out[i] = rd64(buf + 8 * (size_t)i, bigend);
        } else {
            uint32_t v = rd32(buf + 4 * (size_t)i, bigend);
            out[i] = v == 0xFFFFFFFFu ? UINT64_MAX : v;
        }
    }
    return (int)n;
}

int spk_cckd_l1_encode(uint8_t *out, size_t outlen, const uint64_t *l1, uint32_t n, int is64,
                       spk_errinfo *err)
{
    size_t esz = is64 ? 8 : 4;

    if (!out || !l1)
        return spk_fail(err, SPK_EARG, -1, -1, "no buffer");
    if ((size_t)n * esz > outlen)
        return spk_fail(err, SPK_EBUFSIZE, -1, -1, "L1 buffer too small");
    for (uint32_t i = 0; i < n; i++) {
        if (is64)
            spk_put_le64(out + 8 * (size_t)i, l1[i]);
        else if (l1[i] != UINT64_MAX && l1[i] > 0xFFFFFFFFu)
            return spk_fail(err, SPK_ERANGE, -1, i, "L1 offset beyond 4 GB in a CCKD file");
        else
            spk_put_le32(out + 4 * (size_t)i, (uint32_t)l1[i]);
    }
    return (int)(n * esz);
}

int spk_cckd_l2_decode(const uint8_t *buf, size_t len, int is64, int bigend,
                       spk_cckd_l2ent *out, spk_errinfo *err)
{
    size_t esz = is64 ? 16 : 8;

    if (!buf || !out)
        return spk_fail(err, SPK_EARG, -1, -1, "no buffer");
    if (len < esz * SPK_CCKD_L2_ENTRIES)
        return spk_fail(err, SPK_ETRUNC, (int64_t)len, -1, "L2 table needs %zu bytes, have %zu",
                        esz * SPK_CCKD_L2_ENTRIES, len);
    for (size_t i = 0; i < SPK_CCKD_L2_ENTRIES; i++) {
        const uint8_t *p = buf + i * esz;
        if (is64) {
            out[i].off = rd64(p, bigend);
            out[i].len = rd16(p + 8, bigend);
            out[i].size = rd16(p + 10, bigend);
        } else {
            uint32_t off = rd32(p, bigend);
            out[i].off = off == 0xFFFFFFFFu ? UINT64_MAX : off;
            out[i].len = rd16(p + 4, bigend);
            out[i].size = rd16(p + 6, bigend);
        }
    }
    return SPK_CCKD_L2_ENTRIES;
}

int spk_cckd_l2_encode(uint8_t *out, size_t outlen, const spk_cckd_l2ent *l2, int is64,
                       spk_errinfo *err)
{
    size_t esz = is64 ? 16 : 8;

    if (!out || !l2)
        return spk_fail(err, SPK_EARG, -1, -1, "no buffer");
    if (outlen < esz * SPK_CCKD_L2_ENTRIES)
        return spk_fail(err, SPK_EBUFSIZE, -1, -1, "L2 buffer too small");
    memset(out, 0, esz * SPK_CCKD_L2_ENTRIES);
    for (size_t i = 0; i < SPK_CCKD_L2_ENTRIES; i++) {
        uint8_t *p = out + i * esz;
        if (is64) {
            spk_put_le64(p, l2[i].off);
            spk_put_le16(p + 8, l2[i].len);
            spk_put_le16(p + 10, l2[i].size);
        } else {
            if (l2[i].off != UINT64_MAX && l2[i].off > 0xFFFFFFFFu)
                return spk_fail(err, SPK_ERANGE, -1, (int64_t)i,
                                "track offset beyond 4 GB in a CCKD file");
            spk_put_le32(p, (uint32_t)l2[i].off);
            spk_put_le16(p + 4, l2[i].len);
            spk_put_le16(p + 6, l2[i].size);
        }
    }
    return (int)(esz * SPK_CCKD_L2_ENTRIES);
}

void spk_cckd_l2_fill(spk_cckd_l2ent *l2, size_t n, uint64_t off, uint16_t len, uint16_t size)
{
    if (!l2)
        return;
    for (size_t i = 0; i < n; i++) {
        l2[i].off = off;
        l2[i].len = len;
        l2[i].size = size;
    }
}

/* ---- stored track images ------------------------------------------------ */

int spk_cckd_trk_expand(const uint8_t *stored, size_t len, int kind, uint32_t trk,
                        uint32_t heads, int flags, uint8_t *out, size_t outcap,
                        spk_errinfo *err)
{
    int n;

    if (!stored || !out || (kind == SPK_CCKD_KIND_CKD && heads == 0))
        return spk_fail(err, SPK_EARG, -1, trk, "bad arguments");
    if (len < HA_LEN)
        return spk_fail(err, SPK_ETRUNC, (int64_t)len, trk,
                        "stored image of %zu bytes is shorter than its 5-byte header", len);
    if (len > SPK_CCKD_MAX_IMAGE)
        return spk_fail(err, SPK_EFORMAT, -1, trk, "stored image of %zu bytes exceeds 65535", len);
    if (stored[0] > SPK_COMP_BZIP2)
        return spk_fail(err, SPK_EFORMAT, 0, trk, "unknown compression code X'%02X'", stored[0]);
    if (outcap < HA_LEN)
        return spk_fail(err, SPK_EBUFSIZE, -1, trk, "output buffer too small");
    if (kind == SPK_CCKD_KIND_FBA) {
        uint32_t g = spk_be32(stored + 1);
        if (g != trk)
            return spk_fail(err, SPK_EFORMAT, 1, trk,
                            "block group header says group %u, expected %u", g, trk);
    } else {
        uint32_t cyl = spk_be16(stored + 1), head = spk_be16(stored + 3);
        if (cyl != trk / heads || head != trk % heads)
            return spk_fail(err, SPK_EFORMAT, 1, trk,
                            "stored track header says cylinder %u head %u, expected %u %u",
                            cyl, head, trk / heads, trk % heads);
    }
    if (stored[0] == SPK_COMP_NONE) {
        if (len > outcap)
            return spk_fail(err, SPK_ECOMPRESS, -1, trk,
                            "image of %zu bytes exceeds the %zu-byte track slot", len, outcap);
        memmove(out, stored, len);
        n = (int)len;
    } else {
        int r = spk_decompress(stored[0], stored + HA_LEN, len - HA_LEN, out + HA_LEN,
                               outcap - HA_LEN, err);
        if (r < 0) {
            if (err) {
                char msg[sizeof err->msg];
                memcpy(msg, err->msg, sizeof msg);
                return spk_fail(err, r, HA_LEN, trk, "track %u: %s (slot %zu bytes)",
                                trk, msg, outcap);
            }
            return r;
        }
        memcpy(out, stored, HA_LEN);
        out[0] = 0;
        n = r + HA_LEN;
    }
    out[0] = 0;
    if (kind == SPK_CCKD_KIND_FBA) {
        if (n != HA_LEN + SPK_CFBA_GRP_SIZE)
            return spk_fail(err, SPK_EFORMAT, -1, trk,
                            "block group image is %d bytes, expected %d", n,
                            HA_LEN + SPK_CFBA_GRP_SIZE);
        return n;
    } else {
        spk_track_info info;
        int r = spk_track_parse(out, (size_t)n, trk / heads, trk % heads, flags, NULL, 0,
                                &info, err);
        if (r < 0) {
            if (err)
                err->index = trk;
            return r;
        }
        if (info.length != (uint32_t)n)
            return spk_fail(err, SPK_EFORMAT, info.length, trk,
                            "%d-byte image has %u bytes after its end-of-track marker",
                            n, n - info.length);
    }
    return n;
}

int spk_cckd_trk_compress(const uint8_t *image, size_t len, int method, int level,
                          uint8_t *out, size_t outcap, spk_errinfo *err)
{
    if (!image || !out)
        return spk_fail(err, SPK_EARG, -1, -1, "no buffer");
    if (len < HA_LEN || len > SPK_CCKD_MAX_IMAGE)
        return spk_fail(err, SPK_EARG, -1, -1, "track image of %zu bytes: must be 5..65535", len);
    if (method < 0 || method > SPK_COMP_BZIP2)
        return spk_fail(err, SPK_EARG, -1, -1, "unknown compression method %d", method);
    if (method != SPK_COMP_NONE && len >= SPK_CCKD_COMPRESS_MIN && outcap > HA_LEN) {
        size_t cap = outcap - HA_LEN;
        int r;
        if (cap > len - HA_LEN - 1)
            cap = len - HA_LEN - 1;   /* keep it only when smaller */
        r = spk_compress(method, level, image + HA_LEN, len - HA_LEN, out + HA_LEN, cap, NULL);
        if (r >= 0) {
            memcpy(out + 1, image + 1, HA_LEN - 1);
            out[0] = (uint8_t)method;
            return r + HA_LEN;
        }
        if (r != SPK_EBUFSIZE)
            return spk_fail(err, r, -1, -1, "compression failed");
    }
    if (len > outcap)
        return spk_fail(err, SPK_EBUFSIZE, -1, -1, "output buffer too small");
    memmove(out, image, len);
    out[0] = 0;
    return (int)len;
}

int spk_cckd_null_format(const uint8_t *image, size_t len, uint32_t cyl, uint32_t head,
                         int cdh_nullfmt)
{
    uint8_t ref[64];
    int fmt;

    if (!image)
        return SPK_CCKD_NOT_NULL;
    if (len == 29)
        fmt = 1;
    else if (len == 37)
        fmt = 0;
    else if (len == 49277)
        fmt = 2;
    else
        return SPK_CCKD_NOT_NULL;
    /* an L2 entry (0,0,0) reads as format 2 on a nullfmt-2 file */
    if (fmt == 0 && cdh_nullfmt == 2)
        return SPK_CCKD_NOT_NULL;
    if (fmt == 2) {
        uint8_t *big = malloc(49277);
        int same;
        if (!big || spk_track_null(big, 49277, cyl, head, 2, NULL) != 49277) {
            free(big);
            return SPK_CCKD_NOT_NULL;
        }
        same = memcmp(big, image, len) == 0;
        free(big);
        return same ? 2 : SPK_CCKD_NOT_NULL;
    }
    if (spk_track_null(ref, sizeof ref, cyl, head, fmt, NULL) != (int)len)
        return SPK_CCKD_NOT_NULL;
    return memcmp(ref, image, len) == 0 ? fmt : SPK_CCKD_NOT_NULL;
}

/* Hercules 3.x cckdcdsk -3 (cckdutil.c cdsk_valid_trk) on a CKD image that
 * spk_track_parse accepted: it also wants more than 37 bytes, an R0 count of
 * the HA's CCHH with R 0, KL 0, DL 8, and in every record a head below
 * `heads` and a record number other than 0.  A track it rejects it treats
 * as damaged and replaces with a null track. */
int spk_cckd_herc_check(const uint8_t *image, size_t len, uint32_t trk, uint32_t heads,
                        spk_errinfo *err)
{
    static const uint8_t eot[8] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
    size_t i;

    if (!image || heads == 0)
        return spk_fail(err, SPK_EARG, -1, trk, "bad arguments");
    if (len <= 37)
        return spk_fail(err, SPK_EFORMAT, 0, trk,
                        "a %zu-byte track image (R0%s only); Hercules 3.x cckdcdsk -3 takes "
                        "any image of 37 bytes or less for a damaged track", len,
                        len > 29 ? " and one empty record" : "");
    if (spk_be16(image + 1) != trk / heads || spk_be16(image + 3) != trk % heads)
        return spk_fail(err, SPK_EFORMAT, 1, trk, "home address is not cylinder %u head %u",
                        trk / heads, trk % heads);
    if (spk_be16(image + 5) != spk_be16(image + 1) || spk_be16(image + 7) != spk_be16(image + 3)
        || image[9] != 0 || image[10] != 0 || spk_be16(image + 11) != 8)
        return spk_fail(err, SPK_EFORMAT, 5, trk,
                        "R0 count is CCHH %04X%04X R%u KL %u DL %u; Hercules 3.x cckdcdsk -3 "
                        "wants the home address's CCHH, R0, KL 0, DL 8",
                        spk_be16(image + 5), spk_be16(image + 7), image[9], image[10],
                        spk_be16(image + 11));
    for (i = HA_LEN + 16; i + 8 < len;) {
        const uint8_t *c = image + i;
        if (spk_be16(c + 2) >= heads || c[4] == 0)
            return spk_fail(err, SPK_EFORMAT, (int64_t)i, trk,
                            "record at offset %zu has head %u, record number %u; Hercules 3.x "
                            "cckdcdsk -3 wants a head below %u and a record number above 0",
                            i, spk_be16(c + 2), c[4], heads);
        i += 8 + (size_t)c[5] + spk_be16(c + 6);
    }
    if (i != len - 8 || memcmp(image + i, eot, 8) != 0)
        return spk_fail(err, SPK_EFORMAT, (int64_t)i, trk, "no end-of-track marker at %zu",
                        len - 8);
    return SPK_OK;
}

int spk_cckd_pass_image(const uint8_t *stored, size_t len, uint32_t trk, uint32_t heads,
                        int flags, uint32_t trksize, int cdh_nullfmt, uint8_t *scratch,
                        size_t cap, spk_errinfo *err)
{
    int n, fmt;

    if (cap < trksize)
        return spk_fail(err, SPK_EARG, -1, trk, "scratch buffer smaller than a track");
    n = spk_cckd_trk_expand(stored, len, SPK_CCKD_KIND_CKD, trk, heads, flags, scratch,
                            trksize, err);
    if (n < 0)
        return n;
    if (spk_cckd_herc_check(scratch, (size_t)n, trk, heads, err) != SPK_OK) {
        /* a null track stored as an image: the null entry is the same track */
        fmt = spk_cckd_null_format(scratch, (size_t)n, trk / heads, trk % heads, cdh_nullfmt);
        return fmt != SPK_CCKD_NOT_NULL ? fmt : SPK_CCKD_FLAGGED;
    }
    /* cckdcdsk's own limits on the stored form: at least 13 bytes (its
     * first test), at most a track's size (an L2 inconsistency otherwise) */
    if (len < HA_LEN + 8 || len > trksize)
        return SPK_CCKD_RESTORE;
    return SPK_CCKD_KEEP;
}

int spk_cckd_compress_slots(const uint8_t *slots, size_t len, uint32_t trksize,
                            uint32_t first_trk, uint32_t n, uint32_t heads, int flags,
                            int method, int level, int cdh_nullfmt, uint8_t *out,
                            size_t outcap, uint32_t *lens, uint8_t *flagged,
                            spk_errinfo *err)
{
    size_t used = 0;

    if (!slots || !out || !lens || heads == 0 || trksize == 0)
        return spk_fail(err, SPK_EARG, -1, -1, "bad arguments");
    if ((size_t)n * trksize > len)
        return spk_fail(err, SPK_ETRUNC, (int64_t)len, -1, "%u slots need %zu bytes, have %zu",
                        n, (size_t)n * trksize, len);
    for (uint32_t i = 0; i < n; i++) {
        const uint8_t *img = slots + (size_t)i * trksize;
        uint32_t trk = first_trk + i, cyl = trk / heads, head = trk % heads;
        spk_track_info info;
        int r = spk_track_parse(img, trksize, cyl, head, flags, NULL, 0, &info, err);
        int fmt;
        if (r < 0) {
            if (err) {
                err->index = trk;
                err->offset += (int64_t)i * trksize;
            }
            return r;
        }
        fmt = spk_cckd_null_format(img, info.length, cyl, head, cdh_nullfmt);
        if (flagged)
            flagged[i] = fmt == SPK_CCKD_NOT_NULL
                         && spk_cckd_herc_check(img, info.length, trk, heads, NULL) != SPK_OK;
        if (fmt != SPK_CCKD_NOT_NULL) {
            lens[i] = (uint32_t)fmt;
            continue;
        }
        r = spk_cckd_trk_compress(img, info.length, method, level, out + used, outcap - used,
                                  err);
        if (r < 0) {
            if (err)
                err->index = trk;
            return r;
        }
        lens[i] = (uint32_t)r;
        used += (size_t)r;
    }
    if (used > (size_t)INT32_MAX)
        return spk_fail(err, SPK_EARG, -1, -1, "batch too large");
    return (int)used;
}

/* ---- free space --------------------------------------------------------- */

/* The file as the free-chain reader sees it: a buffer or a descriptor read
 * with pread (so a file that shrinks meanwhile gives an error, not SIGBUS). */
typedef struct src {
    const uint8_t *buf;
    int fd;
    uint64_t len;
} src;

static int src_read(const src *s, uint64_t off, uint8_t *dst, size_t n, spk_errinfo *err)
{
    if (off > s->len || s->len - off < n)
        return spk_fail(err, SPK_ETRUNC, (int64_t)off, -1,
                        "%zu bytes at offset %llu are past the end of the %llu-byte file", n,
                        (unsigned long long)off, (unsigned long long)s->len);
    if (s->buf) {
        memcpy(dst, s->buf + off, n);
        return SPK_OK;
    }
    while (n) {
        ssize_t r = pread(s->fd, dst, n, (off_t)off);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return spk_fail(err, SPK_ETRUNC, (int64_t)off, -1,
                            "reading %zu bytes at offset %llu: %s", n, (unsigned long long)off,
                            r < 0 ? strerror(errno) : "the file ended (it shrank while open)");
        dst += r;
        off += (uint64_t)r;
        n -= (size_t)r;
    }
    return SPK_OK;
}

static int free_read(const src *s, int is64, int bigend, const spk_cckd_hdr *hdr,
                     spk_cckd_free *out, size_t maxout, spk_errinfo *err)
{
    size_t esz = is64 ? 16 : 8, n = 0;
    uint64_t off, prev_end = 0, filelen = s->len;
    uint8_t ent[16];
    int rc;

    if (!hdr || (!out && maxout))
        return spk_fail(err, SPK_EARG, -1, -1, "bad arguments");
    off = hdr->free_off;
    if (off == 0)
        return 0;
    if (off > filelen || filelen - off < esz)
        return spk_fail(err, SPK_EFORMAT, (int64_t)off, -1,
                        "free space pointer %llu is past the end of the %llu-byte file",
                        (unsigned long long)off, (unsigned long long)filelen);
    if ((rc = src_read(s, off, ent, esz, err)) < 0)
        return rc;
    if (memcmp(ent, "FREE_BLK", 8) == 0) {
        /* table form: free_num + 1 entries, entry 0 the literal */
        uint64_t num = hdr->free_num < 0 ? 0 : (uint64_t)hdr->free_num;
        uint8_t *t;
        if (num > (filelen - off) / esz - 1)
            return spk_fail(err, SPK_ETRUNC, (int64_t)off, -1,
                            "FREE_BLK table of %llu entries runs past the end of the file",
                            (unsigned long long)num);
        if (num > maxout)
            return spk_fail(err, SPK_EBUFSIZE, -1, -1, "too many free blocks");
        t = malloc((num + 1) * esz);   /* inside the file: bounded by its size */
        if (!t)
            return spk_fail(err, SPK_ENOMEM, -1, -1, "no memory for the FREE_BLK table");
        if ((rc = src_read(s, off, t, (num + 1) * esz, err)) < 0) {
            free(t);
            return rc;
        }
        for (uint64_t i = 1; i <= num; i++) {
            uint64_t bo = is64 ? rd64(t + i * esz, bigend) : rd32(t + i * esz, bigend);
            uint64_t bl = is64 ? rd64(t + i * esz + 8, bigend) : rd32(t + i * esz + 4, bigend);
            if (bo < prev_end || bo < SPK_CCKD_L1_POS) {
                rc = spk_fail(err, bo < prev_end ? SPK_ELOOP : SPK_EFORMAT,
                              (int64_t)(off + i * esz), (int64_t)i - 1,
                              "free block %llu at %llu does not follow the previous one ending at %llu",
                              (unsigned long long)i - 1, (unsigned long long)bo,
                              (unsigned long long)prev_end);
                break;
            }
            if (bl == 0 || bo > filelen || bl > filelen - bo) {
                rc = spk_fail(err, SPK_EFORMAT, (int64_t)(off + i * esz), (int64_t)i - 1,
                              "free block at %llu of %llu bytes is empty or past the end of the file",
                              (unsigned long long)bo, (unsigned long long)bl);
                break;
            }
            out[n].off = bo;
            out[n].len = bl;
            n++;
            prev_end = bo + bl;
        }
        free(t);
        return rc < 0 ? rc : (int)n;
    }
    /* linked form: {next, len} at the start of each block, sorted by offset */
    while (off) {
        uint64_t next, bl;
        if (off < prev_end || (n && off <= out[n - 1].off))
            return spk_fail(err, SPK_ELOOP, (int64_t)off, (int64_t)n,
                            "free chain goes back from %llu to %llu (loop or unsorted chain)",
                            n ? (unsigned long long)out[n - 1].off : 0ULL,
                            (unsigned long long)off);
        if (off < SPK_CCKD_L1_POS || off > filelen || filelen - off < esz)
            return spk_fail(err, SPK_EFORMAT, (int64_t)off, (int64_t)n,
                            "free block %zu at %llu is outside the file", n,
                            (unsigned long long)off);
        if ((rc = src_read(s, off, ent, esz, err)) < 0)
            return rc;
        next = is64 ? rd64(ent, bigend) : rd32(ent, bigend);
        bl = is64 ? rd64(ent + 8, bigend) : rd32(ent + 4, bigend);
        if (bl < esz || bl > filelen - off)
            return spk_fail(err, SPK_EFORMAT, (int64_t)off, (int64_t)n,
                            "free block %zu at %llu has length %llu", n,
                            (unsigned long long)off, (unsigned long long)bl);
        if (n >= maxout)
            return spk_fail(err, SPK_ELOOP, (int64_t)off, (int64_t)n,
                            "free chain has more than %zu blocks (free_num %lld)", maxout,
                            (long long)hdr->free_num);
        out[n].off = off;
        out[n].len = bl;
        n++;
        prev_end = off + bl;
        off = next;
    }
    return (int)n;
}

int spk_cckd_free_read(const uint8_t *file, size_t filelen, int is64, int bigend,
                       const spk_cckd_hdr *hdr, spk_cckd_free *out, size_t maxout,
                       spk_errinfo *err)
{
    src s = {file, -1, filelen};

    if (!file)
        return spk_fail(err, SPK_EARG, -1, -1, "bad arguments");
    return free_read(&s, is64, bigend, hdr, out, maxout, err);
}

int spk_cckd_free_read_fd(int fd, uint64_t filelen, int is64, int bigend,
                          const spk_cckd_hdr *hdr, spk_cckd_free *out, size_t maxout,
                          spk_errinfo *err)
{
    src s = {NULL, fd, filelen};

    if (fd < 0)
        return spk_fail(err, SPK_EARG, -1, -1, "bad file descriptor");
    return free_read(&s, is64, bigend, hdr, out, maxout, err);
}

int spk_cckd_free_link(const spk_cckd_free *blocks, size_t n, int is64, uint8_t *out,
                       size_t outlen, spk_errinfo *err)
{
    size_t esz = is64 ? 16 : 8;

    if ((!blocks || !out) && n)
        return spk_fail(err, SPK_EARG, -1, -1, "no buffer");
    if (n * esz > outlen)
        return spk_fail(err, SPK_EBUFSIZE, -1, -1, "buffer too small");
    for (size_t i = 0; i < n; i++) {
        uint64_t next = i + 1 < n ? blocks[i + 1].off : 0;
        if (blocks[i].len < esz || (i + 1 < n && next < blocks[i].off + blocks[i].len))
            return spk_fail(err, SPK_EARG, -1, (int64_t)i, "free blocks unsorted or too small");
        if (is64) {
            spk_put_le64(out + i * esz, next);
            spk_put_le64(out + i * esz + 8, blocks[i].len);
        } else {
            if (next > 0xFFFFFFFFu || blocks[i].len > 0xFFFFFFFFu)
                return spk_fail(err, SPK_ERANGE, -1, (int64_t)i, "free block beyond 4 GB");
            spk_put_le32(out + i * esz, (uint32_t)next);
            spk_put_le32(out + i * esz + 4, (uint32_t)blocks[i].len);
        }
    }
    return (int)(n * esz);
}

/* ---- space maps (checker) ----------------------------------------------- */

int spk_cckd_l2_spaces(const spk_cckd_l2ent *l2, size_t n, uint32_t first_trk,
                       spk_cckd_space *out, size_t maxout, uint64_t *len_sum,
                       uint64_t *imbed_sum, spk_errinfo *err)
{
    size_t k = 0;
    uint64_t ls = 0, is = 0;

    if (!l2 || (!out && maxout))
        return spk_fail(err, SPK_EARG, -1, -1, "bad arguments");
    for (size_t i = 0; i < n; i++) {
        const spk_cckd_l2ent *e = &l2[i];
        int bad;
        if (e->off == UINT64_MAX)
            continue;
        if (e->off == 0) {
            if (e->len == e->size && e->len <= 2)
                continue;
            bad = 1;
        } else {
            bad = e->len < HA_LEN || e->size < e->len;
        }
        if (k >= maxout)
            return spk_fail(err, SPK_EBUFSIZE, -1, (int64_t)(first_trk + i), "space array full");
        out[k].off = e->off;
        out[k].len = e->size;
        out[k].index = (int64_t)first_trk + (int64_t)i;
        out[k].kind = bad ? -SPK_SPACE_TRACK : SPK_SPACE_TRACK;
        k++;
        if (!bad) {
            ls += e->len;
            is += (uint64_t)(e->size - e->len);
        }
    }
    if (len_sum)
        *len_sum += ls;
    if (imbed_sum)
        *imbed_sum += is;
    return (int)k;
}

static int cmp_space(const void *a, const void *b)
{
    const spk_cckd_space *x = a, *y = b;
    if (x->off != y->off)
        return x->off < y->off ? -1 : 1;
    if (x->len != y->len)
        return x->len < y->len ? -1 : 1;
    return x->index < y->index ? -1 : x->index > y->index;
}

int spk_cckd_space_check(spk_cckd_space *sp, size_t n, uint64_t filesize,
                         spk_cckd_overlap *bad, size_t maxbad, uint64_t *gap_bytes)
{
    size_t nb = 0, maxi = 0;
    uint64_t max_end = 0, gaps = 0;
    int problems = 0;

    if (!sp)
        return n ? SPK_EARG : 0;
    qsort(sp, n, sizeof *sp, cmp_space);
    for (size_t i = 0; i < n; i++) {
        uint64_t end = sp[i].off + sp[i].len;
        if (end < sp[i].off || end > filesize) {
            problems++;
            if (bad && nb < maxbad) {
                bad[nb].a = i;
                bad[nb].b = i;
                nb++;
            }
        }
        if (i && sp[i].off < max_end) {
            problems++;
            if (bad && nb < maxbad) {
                bad[nb].a = maxi;
                bad[nb].b = i;
                nb++;
            }
        } else if (sp[i].off > max_end) {
            gaps += sp[i].off - max_end;
        }
        if (end > max_end) {
            max_end = end;
            maxi = i;
        }
    }
    if (gap_bytes)
        *gap_bytes = gaps;
    return problems;
}

int spk_cckd_space_gaps(spk_cckd_space *sp, size_t n, uint64_t start, uint64_t end,
                        uint64_t minlen, spk_cckd_free *out, size_t maxout, uint64_t *lost,
                        spk_errinfo *err)
{
    size_t k = 0;
    uint64_t pos = start, small = 0;

    if ((!sp && n) || (!out && maxout))
        return spk_fail(err, SPK_EARG, -1, -1, "bad arguments");
    if (n)
        qsort(sp, n, sizeof *sp, cmp_space);
    /* one gap after each space at most: n + 1 gaps in all */
    for (size_t i = 0; i <= n && pos < end; i++) {
        uint64_t next = i < n ? sp[i].off : end, send;
        if (next > end)
            next = end;
        if (next > pos) {
            if (next - pos >= minlen) {
                if (k >= maxout)
                    return spk_fail(err, SPK_EBUFSIZE, -1, -1, "gap array full");
                out[k].off = pos;
                out[k].len = next - pos;
                k++;
            } else {
                small += next - pos;
            }
        }
        if (i < n) {
            send = sp[i].off + sp[i].len;
            if (send < sp[i].off)
                send = UINT64_MAX;
            if (send > pos)
                pos = send;
        }
    }
    if (lost)
        *lost = small;
    if (k > (size_t)INT32_MAX)
        return spk_fail(err, SPK_EARG, -1, -1, "too many gaps");
    return (int)k;
}

int spk_cckd_file_spaces(const uint64_t *l1, uint32_t num_l1, spk_cckd_l2ent *const *l2tabs,
                         uint64_t meta_end, uint32_t l2_bytes, const spk_cckd_free *fr,
                         size_t nfree, spk_cckd_space *out, size_t maxout, size_t *nbad,
                         uint64_t *len_sum, uint64_t *imbed_sum, spk_errinfo *err)
{
    size_t k = 0, b = 0;
    uint64_t ls = 0, is = 0;

    if (!l1 || !l2tabs || (nfree && !fr) || (!out && maxout))
        return spk_fail(err, SPK_EARG, -1, -1, "bad arguments");
#define PUT(o, l, i, kd) do {                                                     \
        if (out) {                                                                \
            if (k + b >= maxout)                                                  \
                return spk_fail(err, SPK_EBUFSIZE, -1, -1, "space array full");   \
            spk_cckd_space *s_ = (kd) < 0 ? &out[maxout - 1 - b] : &out[k];       \
            s_->off = (o); s_->len = (l); s_->index = (i); s_->kind = (kd);        \
        }                                                                         \
        if ((kd) < 0) b++; else k++;                                              \
    } while (0)
    PUT(0, meta_end, 0, SPK_SPACE_HEADER);
    for (uint32_t g = 0; g < num_l1; g++) {
        const spk_cckd_l2ent *t = l2tabs[g];
        if (!t)
            continue;
        PUT(l1[g], l2_bytes, g, SPK_SPACE_L2);
        for (size_t i = 0; i < SPK_CCKD_L2_ENTRIES; i++) {
            const spk_cckd_l2ent *e = &t[i];
            int64_t trk = (int64_t)g * SPK_CCKD_L2_ENTRIES + (int64_t)i;
            if (e->off == UINT64_MAX)
                continue;
            if (e->off == 0) {
                if (e->len == e->size && e->len <= 2)
                    continue;
                PUT(0, e->size, trk, -SPK_SPACE_TRACK);
            } else if (e->len < HA_LEN || e->size < e->len) {
                PUT(e->off, e->size, trk, -SPK_SPACE_TRACK);
            } else {
                PUT(e->off, e->size, trk, SPK_SPACE_TRACK);
                ls += e->len;
                is += (uint64_t)(e->size - e->len);
            }
        }
    }
    for (size_t i = 0; i < nfree; i++)
        PUT(fr[i].off, fr[i].len, (int64_t)i, SPK_SPACE_FREE);
#undef PUT
    if (nbad)
        *nbad = b;
    if (len_sum)
        *len_sum = ls;
    if (imbed_sum)
        *imbed_sum = is;
    if (k > (size_t)INT32_MAX)
        return spk_fail(err, SPK_EARG, -1, -1, "too many spaces");
    return (int)k;
}

uint32_t spk_cckd_identity(const uint8_t *devhdr, const spk_cckd_hdr *h, const uint64_t *l1,
                           uint32_t num_l1, spk_cckd_l2ent *const *l2tabs)
{
    uint8_t b[16];
    uint32_t crc;

    if (!devhdr || !h || !l1 || !l2tabs)
        return 0;
    crc = spk_crc32c(0, devhdr, 512);
    spk_put_le32(b, h->cyls);
    spk_put_le32(b + 4, (uint32_t)h->num_l1);
    crc = spk_crc32c(crc, b, 8);
    for (uint32_t g = 0; g < num_l1; g++) {
        spk_put_le64(b, l1[g]);
        crc = spk_crc32c(crc, b, 8);
        if (!l2tabs[g])
            continue;
        for (size_t i = 0; i < SPK_CCKD_L2_ENTRIES; i++) {
            spk_put_le64(b, l2tabs[g][i].off);
            spk_put_le16(b + 8, l2tabs[g][i].len);
            spk_put_le16(b + 10, l2tabs[g][i].size);
            crc = spk_crc32c(crc, b, 12);
        }
    }
    return crc;
}

/* ---- a group expanded into plain CKD slots ------------------------------ */

static int write_full(int fd, const uint8_t *src, size_t n, uint64_t off, spk_errinfo *err)
{
    size_t done = 0;
    while (done < n) {
        ssize_t r = pwrite(fd, src + done, n - done, (off_t)(off + done));
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return spk_fail(err, SPK_EWRITE, (int64_t)(off + done), r < 0 ? errno : EIO,
                            "write failed");
        done += (size_t)r;
    }
    return SPK_OK;
}

int spk_cckd_expand_group(const spk_cckd_src *files, uint32_t nfiles, uint32_t first_trk,
                          uint32_t n, uint32_t heads, int flags, uint32_t trksize,
                          int out_fd, uint64_t out_off, uint8_t *work, size_t worklen,
                          spk_errinfo *err)
{
    uint8_t *stored, *image;
    size_t imgcap;
    uint32_t i;

    if (!files || nfiles == 0 || heads == 0 || trksize < HA_LEN || !work || out_fd < 0)
        return spk_fail(err, SPK_EARG, -1, -1, "bad arguments");
    imgcap = trksize > SPK_NULL2_LEN ? trksize : SPK_NULL2_LEN;
    if (worklen < SPK_CCKD_MAX_IMAGE + imgcap)
        return spk_fail(err, SPK_EBUFSIZE, -1, -1, "work buffer too small");
    if (first_trk > UINT32_MAX - n)
        return spk_fail(err, SPK_EARG, -1, -1, "track range overflows");
    for (i = 0; i < nfiles; i++)
        if (!files[i].l2 || files[i].fd < 0)
            return spk_fail(err, SPK_EARG, -1, -1, "file %u has no L2 entries", i);
    stored = work;
    image = work + SPK_CCKD_MAX_IMAGE;
    for (i = 0; i < n; i++) {
        uint32_t trk = first_trk + i, slot = (first_trk + i) & 255u;
        uint32_t cyl = trk / heads, head = trk % heads;
        const spk_cckd_src *f = NULL;
        const spk_cckd_l2ent *e = NULL;
        uint32_t k = nfiles;
        int64_t got;
        int len, rc;

        while (k-- > 0) {
            if (files[k].l2[slot].off != UINT64_MAX) {
                f = &files[k];
                e = &f->l2[slot];
                break;
            }
        }
        if (!e)
            return spk_fail(err, SPK_ENOTFOUND, -1, trk,
                            "track is in none of the files (a shadow opened without its base?)");
        if (e->off == 0) {
            int fmt = e->len;
            if (fmt == 0 && f->nullfmt == 2)
                fmt = 2;
            if (fmt > 2 || e->len != e->size)
                return spk_fail(err, SPK_EFORMAT, -1, trk, "null L2 entry with length %u size %u",
                                e->len, e->size);
            len = spk_track_null(image, imgcap, cyl, head, fmt, err);
        } else {
            if (e->len < HA_LEN || e->size < e->len)
                return spk_fail(err, SPK_EFORMAT, -1, trk, "L2 entry of track %u: length %u, size %u",
                                trk, e->len, e->size);
            if (e->off < f->meta_end)
                return spk_fail(err, SPK_EFORMAT, (int64_t)e->off, trk,
                                "track %u image at %llu overlaps the headers", trk,
                                (unsigned long long)e->off);
            if (e->off > f->filesize || e->len > f->filesize - e->off)
                return spk_fail(err, SPK_ETRUNC, (int64_t)e->off, trk,
                                "image of track %u at %llu (%u bytes) is past the end of the file",
                                trk, (unsigned long long)e->off, e->len);
            got = spk_pread_full(f->fd, stored, e->len, e->off);
            if (got < 0)
                return spk_fail(err, SPK_EIO, (int64_t)e->off, trk, "reading the image of track %u: %s",
                                trk, strerror((int)-got));
            if (got < (int64_t)e->len)
                return spk_fail(err, SPK_ETRUNC, (int64_t)e->off, trk,
                                "image of track %u at %llu (%u bytes) is past the end of the file",
                                trk, (unsigned long long)e->off, e->len);
            len = spk_cckd_trk_expand(stored, e->len, SPK_CCKD_KIND_CKD, trk, heads, flags,
                                      image, trksize, err);
        }
        if (len < 0) {
            if (err)
                err->index = trk;
            return len;
        }
        if ((uint32_t)len > trksize)
            return spk_fail(err, SPK_ECAPACITY, -1, trk,
                            "track image of %d bytes exceeds the %u-byte slot", len, trksize);
        rc = write_full(out_fd, image, (size_t)len, out_off + (uint64_t)i * trksize, err);
        if (rc < 0)
            return rc;
    }
    return (int)n;
}

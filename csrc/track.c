/* track.c - parse, validate and build CKD track images (HA, R0, records, EOT). */
#include "internal.h"

static const uint8_t eot_marker[8] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff};

#define HA_LEN 5
#define COUNT_LEN 8

int spk_track_parse(const uint8_t *buf, size_t len, uint32_t cyl, uint32_t head,
                    int flags, spk_record *out, size_t maxrec,
                    spk_track_info *info, spk_errinfo *err)
{
    spk_track_info tmp;
    size_t off = HA_LEN, n = 0;
    uint32_t keys = 0, data = 0, eofs = 0;

    if (!info)
        info = &tmp;
    memset(info, 0, sizeof *info);
    if (!buf)
        return spk_fail(err, SPK_EARG, -1, -1, "no track buffer");
    if (len < HA_LEN + COUNT_LEN + COUNT_LEN)
        return spk_fail(err, SPK_ETRUNC, 0, -1,
                        "track image of %zu bytes is shorter than home address, R0 and end of track", len);
    if (buf[0] != 0 && !((flags & SPK_TRK_CCKDHA) && buf[0] <= 2))
        return spk_fail(err, SPK_EFORMAT, 0, -1, "home address flag byte is X'%02X', expected X'00'", buf[0]);
    info->cyl = spk_be16(buf + 1);
    info->head = spk_be16(buf + 3);
    if (!(flags & SPK_TRK_ANYHA) && (info->cyl != cyl || info->head != head))
        return spk_fail(err, SPK_EFORMAT, 1, -1,
                        "home address says cylinder %u head %u, expected cylinder %u head %u",
                        info->cyl, info->head, cyl, head);
    /* Hot loop: one bounds check per record (the record plus room for the
     * EOT after it); the error cases are sorted out only on failure. */
    for (;;) {
        const uint8_t *c;
        uint64_t word;
        uint32_t kl, dl;
        size_t end;

        if (off + COUNT_LEN > len)
            return spk_fail(err, SPK_ETRUNC, (int64_t)off, (int64_t)n,
                            "no end-of-track marker before the end of the %zu-byte image", len);
        c = buf + off;
        memcpy(&word, c, sizeof word);
        if (word == UINT64_MAX)
            break;
        kl = c[5];
        dl = spk_be16(c + 6);
        end = off + COUNT_LEN + kl + dl;
        if (end + COUNT_LEN > len) {
            if (end <= len)
                return spk_fail(err, SPK_ETRUNC, (int64_t)end, (int64_t)n,
                                "no end-of-track marker after record %zu (image ends at %zu)", n, len);
            return spk_fail(err, SPK_EFORMAT, (int64_t)off, (int64_t)n,
                            "record %zu (R%u, KL %u, DL %u) at offset %zu runs past the end of the %zu-byte image",
                            n, c[4], kl, dl, off, len);
        }
        if (out && n < maxrec) {
            spk_record *r = &out[n];
            uint16_t cc = spk_be16(c);
            r->flags = 0;
            if ((flags & SPK_TRK_OVERFLOW) && (cc & 0x8000)) {
                cc &= 0x7fff;
                r->flags = SPK_REC_OVERFLOW;
            }
            r->offset = (uint32_t)off;
            r->cyl = cc;
            r->head = spk_be16(c + 2);
            r->rec = c[4];
            r->kl = (uint8_t)kl;
            r->dl = (uint16_t)dl;
        }
        keys += kl;
        data += dl;
        eofs += (kl | dl) == 0;
        n++;
        off = end;
    }
    if (n > 0) { /* R0 is not a data record: take it back out of the sums */
        uint32_t r0kl = buf[HA_LEN + 5], r0dl = spk_be16(buf + HA_LEN + 6);
        keys -= r0kl;
        data -= r0dl;
        eofs -= (r0kl | r0dl) == 0;
    }
    info->eof_records = eofs;
    if (n == 0)
        return spk_fail(err, SPK_EFORMAT, HA_LEN, 0, "track has no record 0");
    info->length = (uint32_t)(off + COUNT_LEN);
    info->nrecs = (uint32_t)(n - 1);
    info->key_bytes = keys;
    info->data_bytes = data;
    if (out && n > maxrec)
        return spk_fail(err, SPK_EBUFSIZE, -1, -1, "%zu records do not fit a table of %zu", n, maxrec);
    return out ? (int)n : 0;
}

int spk_track_capacity(const uint8_t *buf, size_t len, const spk_ckddev *dev,
                       int flags, int32_t *usedp, spk_errinfo *err)
{
    spk_track_info info;
    int32_t used = 0;
    size_t off;
    uint32_t i;
    int rc = spk_track_parse(buf, len, 0, 0, flags | SPK_TRK_ANYHA, NULL, 0, &info, err);

    if (rc < 0)
        return rc;
    /* walk R1..Rn; R0 is part of the HA/R0 overhead the formula excludes */
    off = HA_LEN + COUNT_LEN + buf[HA_LEN + 5] + spk_be16(buf + HA_LEN + 6);
    for (i = 1; i <= info.nrecs; i++) {
        spk_capacity cap;
        const uint8_t *c = buf + off;
        int kl = c[5], dl = spk_be16(c + 6);

        rc = spk_geom_capacity(dev, used, kl, dl, &cap);
        if (rc < 0)
            return spk_fail(err, rc, (int64_t)off, i, "no capacity formula for device %s", dev->name);
        if (!cap.fits)
            return spk_fail(err, SPK_ECAPACITY, (int64_t)off, i,
                            "record %u (R%u, KL %d, DL %d) does not fit on a %s track: "
                            "%d of %u bytes already used, it needs %d",
                            i, c[4], kl, dl, dev->name, used, dev->len, cap.b1);
        used = cap.newused;
        off += COUNT_LEN + (size_t)kl + (size_t)dl;
    }
    if (usedp)
        *usedp = used;
    return SPK_OK;
}

int spk_track_validate(const uint8_t *buf, size_t len, uint32_t cyl, uint32_t head,
                       int flags, const spk_ckddev *dev, spk_track_info *info,
                       spk_errinfo *err)
{
    spk_track_info tmp;
    size_t off;
    uint32_t i;
    int rc = spk_track_parse(buf, len, cyl, head, flags, NULL, 0, info ? info : &tmp, err);

    if (rc < 0)
        return rc;
    if (!info)
        info = &tmp;
    if (buf[HA_LEN + 4] != 0 || buf[HA_LEN + 5] != 0 || spk_be16(buf + HA_LEN + 6) != 8)
        return spk_fail(err, SPK_EFORMAT, HA_LEN, 0,
                        "record 0 must have R 0, KL 0 and DL 8 (has R%u, KL %u, DL %u)",
                        buf[HA_LEN + 4], buf[HA_LEN + 5], spk_be16(buf + HA_LEN + 6));
    off = HA_LEN + COUNT_LEN + 8;
    for (i = 1; i <= info->nrecs; i++) {
        const uint8_t *c = buf + off;
        uint16_t cc = spk_be16(c);

        /* Record numbers need not ascend: CP formats its paging tracks as
         * R5, R133, R6, R134, ...  Only R0 as a data record is refused, as
         * Hercules' cckd_validate does. */
        if (c[4] == 0)
            return spk_fail(err, SPK_EFORMAT, (int64_t)off, i, "record %u has record number 0", i);
        if (flags & SPK_TRK_OVERFLOW)
            cc &= 0x7fff;
        if ((flags & SPK_TRK_STRICT) && (cc != info->cyl || spk_be16(c + 2) != info->head))
            return spk_fail(err, SPK_EFORMAT, (int64_t)off, i,
                            "record R%u has CCHH %u/%u on track %u/%u",
                            c[4], cc, spk_be16(c + 2), info->cyl, info->head);
        off += COUNT_LEN + c[5] + (size_t)spk_be16(c + 6);
    }
    if (dev)
        return spk_track_capacity(buf, len, dev, flags, NULL, err);
    return SPK_OK;
}

static uint8_t *put_count(uint8_t *p, uint32_t cyl, uint32_t head, uint32_t r, uint32_t kl, uint32_t dl)
{
    spk_put_be16(p, cyl);
    spk_put_be16(p + 2, head);
    p[4] = (uint8_t)r;
    p[5] = (uint8_t)kl;
    spk_put_be16(p + 6, dl);
    return p + COUNT_LEN;
}

int spk_track_build(uint8_t *out, size_t outlen, uint32_t cyl, uint32_t head,
                    const uint8_t *r0data, const spk_recspec *recs, size_t n,
                    spk_errinfo *err)
{
    size_t need = HA_LEN + COUNT_LEN + 8 + COUNT_LEN, i;
    uint8_t *p;

    if (!out || (n && !recs))
        return spk_fail(err, SPK_EARG, -1, -1, "missing buffer");
    if (cyl > 0xffff || head > 0xffff)
        return spk_fail(err, SPK_EARG, -1, -1, "cylinder %u head %u out of range", cyl, head);
    for (i = 0; i < n; i++) {
        if (recs[i].dl > 0xffff)
            return spk_fail(err, SPK_EARG, -1, (int64_t)i, "record %zu: data length %u exceeds 65535", i + 1, recs[i].dl);
        if (recs[i].cyl > 0x7fff && recs[i].overflow)
            return spk_fail(err, SPK_EARG, -1, (int64_t)i, "record %zu: overflow flag needs cylinder < 32768", i + 1);
        if (recs[i].kl && !recs[i].key)
            return spk_fail(err, SPK_EARG, -1, (int64_t)i, "record %zu: key missing", i + 1);
        need += COUNT_LEN + recs[i].kl + (size_t)recs[i].dl;
    }
    if (need > outlen)
        return spk_fail(err, SPK_EBUFSIZE, -1, -1, "track image needs %zu bytes, buffer has %zu", need, outlen);
    if (need > INT32_MAX)
        return spk_fail(err, SPK_EARG, -1, -1, "track image too large");
    out[0] = 0;
    spk_put_be16(out + 1, cyl);
    spk_put_be16(out + 3, head);
    p = put_count(out + HA_LEN, cyl, head, 0, 0, 8);
    if (r0data)
        memcpy(p, r0data, 8);
    else
        memset(p, 0, 8);
    p += 8;
    for (i = 0; i < n; i++) {
        const spk_recspec *r = &recs[i];
        uint32_t cc = r->cyl | (r->overflow ? 0x8000u : 0);
        p = put_count(p, cc, r->head, r->rec, r->kl, r->dl);
        if (r->kl) {
            memcpy(p, r->key, r->kl);
            p += r->kl;
        }
        if (r->data)
            memcpy(p, r->data, r->dl);
        else
            memset(p, 0, r->dl);
        p += r->dl;
    }
    memcpy(p, eot_marker, COUNT_LEN);
    return (int)need;
}

int spk_track_null(uint8_t *out, size_t outlen, uint32_t cyl, uint32_t head,
                   int fmt, spk_errinfo *err)
{
    spk_recspec recs[12];
    size_t n = 0, i;

    switch (fmt) {
    case 0:
        memset(recs, 0, sizeof recs[0]);
        recs[0].cyl = (uint16_t)cyl; recs[0].head = (uint16_t)head; recs[0].rec = 1;
        n = 1;
        break;
    case 1:
        break;
    case 2:
        for (i = 0; i < 12; i++) {
            memset(&recs[i], 0, sizeof recs[i]);
            recs[i].cyl = (uint16_t)cyl; recs[i].head = (uint16_t)head;
            recs[i].rec = (uint8_t)(i + 1); recs[i].dl = 4096;
        }
        n = 12;
        break;
    default:
        return spk_fail(err, SPK_EARG, -1, -1, "null track format %d is not 0, 1 or 2", fmt);
    }
    return spk_track_build(out, outlen, cyl, head, NULL, recs, n, err);
}

int spk_track_build_fixed(uint8_t *out, size_t outlen, uint32_t cyl, uint32_t head,
                          const uint8_t *data, size_t len, uint32_t reclen, uint32_t nrecs,
                          spk_errinfo *err)
{
    spk_recspec recs[255];

    if (!out || !data)
        return spk_fail(err, SPK_EARG, -1, -1, "missing buffer");
    if (nrecs < 1 || nrecs > 255 || reclen < 1 || reclen > 0xFFFF)
        return spk_fail(err, SPK_EARG, -1, -1, "%u records of %u bytes per track", nrecs,
                        reclen);
    if (len != (size_t)reclen * nrecs)
        return spk_fail(err, SPK_EARG, -1, -1, "%zu bytes of data are not %u records of %u",
                        len, nrecs, reclen);
    for (uint32_t i = 0; i < nrecs; i++) {
        memset(&recs[i], 0, sizeof recs[i]);
        recs[i].cyl = (uint16_t)cyl;         /* range checked by spk_track_build */
        recs[i].head = (uint16_t)head;
        recs[i].rec = (uint8_t)(i + 1);
        recs[i].dl = reclen;
        recs[i].data = data + (size_t)i * reclen;
    }
    return spk_track_build(out, outlen, cyl, head, NULL, recs, nrecs, err);
}

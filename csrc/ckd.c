/* ckd.c - plain CKD image pieces: the 512-byte device header and bulk scans. */
#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

#include "internal.h"

#define DEVHDR_LEN 512

int spk_ckd_devhdr_parse(const uint8_t *buf, size_t len, spk_ckd_devhdr *out,
                         spk_errinfo *err)
{
    size_t i;

    if (!buf || !out)
        return spk_fail(err, SPK_EARG, -1, -1, "missing buffer");
    if (len < DEVHDR_LEN)
        return spk_fail(err, SPK_ETRUNC, 0, -1, "device header needs 512 bytes, file has %zu", len);
    memset(out, 0, sizeof *out);
    for (i = 0; i < 8; i++) {
        if (buf[i] < 0x20 || buf[i] > 0x7e)
            return spk_fail(err, SPK_EFORMAT, (int64_t)i, -1, "device id is not ASCII text");
        out->devid[i] = (char)buf[i];
    }
    out->heads = spk_le32(buf + 8);
    out->trksize = spk_le32(buf + 12);
    out->devtype = buf[16];
    out->fileseq = buf[17];
    out->highcyl = spk_le16(buf + 18);
    for (i = 0; i < 12; i++)
        out->serial[i] = (buf[20 + i] >= 0x20 && buf[20 + i] <= 0x7e) ? (char)buf[20 + i] : 0;
    return SPK_OK;
}

int spk_ckd_devhdr_build(uint8_t *out, size_t outlen, const spk_ckd_devhdr *hdr,
                         spk_errinfo *err)
{
    size_t n;

    if (!out || !hdr)
        return spk_fail(err, SPK_EARG, -1, -1, "missing buffer");
    if (outlen < DEVHDR_LEN)
        return spk_fail(err, SPK_EBUFSIZE, -1, -1, "device header needs 512 bytes");
    memset(out, 0, DEVHDR_LEN);
    n = strnlen(hdr->devid, 8);
    if (n != 8)
        return spk_fail(err, SPK_EARG, -1, -1, "device id must be 8 characters");
    memcpy(out, hdr->devid, 8);
    spk_put_le32(out + 8, hdr->heads);
    spk_put_le32(out + 12, hdr->trksize);
    out[16] = hdr->devtype;
    out[17] = hdr->fileseq;
    spk_put_le16(out + 18, hdr->highcyl);
    n = strnlen(hdr->serial, 12);
    memcpy(out + 20, hdr->serial, n);
    return DEVHDR_LEN;
}

int spk_ckd_scan(const uint8_t *buf, size_t len, uint32_t trksize,
                 uint32_t first_trk, uint32_t ntracks, uint32_t heads, int flags,
                 spk_scan_stats *stats, spk_errinfo *err)
{
    uint32_t t;

    if (!buf || !stats || heads == 0 || trksize == 0)
        return spk_fail(err, SPK_EARG, -1, -1, "bad scan arguments");
    if ((uint64_t)ntracks * trksize > len)
        return spk_fail(err, SPK_ETRUNC, (int64_t)len, -1,
                        "%u tracks of %u bytes need %llu bytes, the region has %zu",
                        ntracks, trksize, (unsigned long long)ntracks * trksize, len);
    for (t = 0; t < ntracks; t++) {
        spk_track_info info;
        uint32_t trk = first_trk + t;
        int rc;

        if (t + 2 < ntracks) { /* hardware prefetch stops at page ends: start the next slots */
            const uint8_t *nx = buf + (size_t)(t + 2) * trksize;
            __builtin_prefetch(nx);
            if (trksize > 4096) /* stay inside the slot: no pointer past the region */
                __builtin_prefetch(nx + 4096);
        }
        rc = spk_track_parse(buf + (size_t)t * trksize, trksize, trk / heads, trk % heads,
                                 flags, NULL, 0, &info, err);
        if (rc < 0) {
            if (err) {
                err->index = trk;
                if (err->offset >= 0)
                    err->offset += (int64_t)t * trksize;
            }
            return rc;
        }
        stats->tracks++;
        stats->records += info.nrecs;
        stats->eof_records += info.eof_records;
        stats->key_bytes += info.key_bytes;
        stats->data_bytes += info.data_bytes;
        stats->image_bytes += info.length;
    }
    return (int)ntracks;
}

int spk_ckd_format(uint8_t *buf, size_t len, uint32_t trksize, uint32_t first_trk,
                   uint32_t ntracks, uint32_t heads, int nullfmt, spk_errinfo *err)
{
    uint32_t t;

    if (!buf || heads == 0 || trksize == 0)
        return spk_fail(err, SPK_EARG, -1, -1, "bad format arguments");
    if ((uint64_t)ntracks * trksize > len)
        return spk_fail(err, SPK_EBUFSIZE, -1, -1, "region too small for %u tracks", ntracks);
    for (t = 0; t < ntracks; t++) {
        uint32_t trk = first_trk + t;
        int rc = spk_track_null(buf + (size_t)t * trksize, trksize, trk / heads, trk % heads,
                                nullfmt, err);
        if (rc < 0)
            return rc;
    }
    return (int)ntracks;
}

#define SCAN_READ (1u << 18)   /* pread this much at a time: stays in cache for the parse */

int spk_ckd_scan_fd(int fd, uint64_t off, uint32_t trksize, uint32_t first_trk,
                    uint32_t ntracks, uint32_t heads, int flags, spk_scan_stats *stats,
                    spk_errinfo *err)
{
    uint32_t per = trksize ? (trksize >= SCAN_READ ? 1 : SCAN_READ / trksize) : 1;
    uint8_t *buf;
    uint32_t t = 0;
    int rc = 0;

    if (fd < 0 || !stats || heads == 0 || trksize == 0)
        return spk_fail(err, SPK_EARG, -1, -1, "bad scan arguments");
    buf = malloc((size_t)per * trksize);
    if (!buf)
        return spk_fail(err, SPK_ENOMEM, -1, -1, "no memory for the scan buffer");
    while (t < ntracks) {
        uint32_t k = ntracks - t < per ? ntracks - t : per;
        size_t want = (size_t)k * trksize, got = 0;
        uint64_t at = off + (uint64_t)t * trksize;
        while (got < want) {
            ssize_t r = pread(fd, buf + got, want - got, (off_t)(at + got));
            if (r < 0 && errno == EINTR)
                continue;
            if (r <= 0) {
                rc = spk_fail(err, SPK_ETRUNC, (int64_t)(at + got), first_trk + t + got / trksize,
                              "reading track slots at offset %llu: %s",
                              (unsigned long long)(at + got),
                              r < 0 ? strerror(errno) : "the file ended (it shrank while open)");
                goto out;
            }
            got += (size_t)r;
        }
        rc = spk_ckd_scan(buf, want, trksize, first_trk + t, k, heads, flags, stats, err);
        if (rc < 0) {
            if (err && err->offset >= 0)
                err->offset += (int64_t)(at - off);   /* relative to off, as spk_ckd_scan */
            goto out;
        }
        t += k;
    }
    rc = (int)ntracks;
out:
    free(buf);
    return rc;
}

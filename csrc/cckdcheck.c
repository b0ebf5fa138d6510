/* cckdcheck.c - the stored-image walk of cckdcdsk levels 2 and 3.
 *
 * One call checks a group of L2 entries without the GIL: the images are
 * read with pread into a per-thread window (images that lie close together,
 * as writers lay them out, come in one read), every image is bounded by
 * what the read returned, and level 3 expands each into a per-thread track
 * buffer and runs the Hercules 3.x check on it.
 */
#include <stdio.h>

#include "internal.h"

#define HA_LEN 5
/* one read covers at most this much; it holds any single image (<= 65535) */
#define WIN_CAP (256 * 1024)
/* bytes between two images that one read still spans rather than two reads */
#define WIN_GAP 16384
/* an offset this high is past any file (and off + len cannot overflow) */
#define OFF_LIMIT ((uint64_t)INT64_MAX - WIN_CAP)

static int has_image(const spk_cckd_l2ent *e)
{
    return e->off != 0 && e->off != UINT64_MAX && e->len >= HA_LEN && e->size >= e->len;
}

static void add(spk_cckd_finding *out, size_t maxout, size_t *nf, uint32_t trk, int what,
                int code, uint64_t off, const char *msg)
{
    if (*nf < maxout) {
        spk_cckd_finding *f = &out[*nf];
        f->trk = trk;
        f->what = what;
        f->code = code;
        f->off = off;
        snprintf(f->msg, sizeof f->msg, "%s", msg ? msg : "");
    }
    (*nf)++;
}

int spk_cckd_check_images(int fd, const spk_cckd_l2ent *l2, uint32_t n, uint32_t first_trk,
                          int kind, uint32_t heads, int flags, uint32_t trksize, int level,
                          spk_cckd_finding *out, size_t maxout, spk_errinfo *err)
{
    uint8_t *win, *trk_buf = NULL;
    uint64_t wstart = 0;
    size_t wgot = 0, nf = 0;
    int wvalid = 0;
    spk_errinfo e2;

    if (fd < 0 || (!l2 && n) || (!out && maxout) || heads == 0 || level < 2 || level > 3
        || (kind != SPK_CCKD_KIND_CKD && kind != SPK_CCKD_KIND_FBA)
        || trksize < HA_LEN || trksize > SPK_CCKD_MAX_IMAGE + 1
        || (uint64_t)first_trk + n > (uint64_t)UINT32_MAX + 1)
        return spk_fail(err, SPK_EARG, -1, -1, "bad arguments");
    win = spk_scratch(SPK_SCRATCH_CHECK_WIN, WIN_CAP);
    if (level >= 3)
        trk_buf = spk_scratch(SPK_SCRATCH_CHECK_TRK, trksize);
    if (!win || (level >= 3 && !trk_buf))
        return spk_fail(err, SPK_ENOMEM, -1, -1, "no memory for the check buffers");

    for (uint32_t i = 0; i < n; i++) {
        const spk_cckd_l2ent *e = &l2[i];
        uint32_t trk = first_trk + i;
        size_t need, at;
        const uint8_t *img;

        if (!has_image(e))
            continue;
        need = level >= 3 ? e->len : HA_LEN;
        if (e->off > OFF_LIMIT) {
            /* past the end of any file */
            add(out, maxout, &nf, trk, level >= 3 ? SPK_CCKD_FIND_EOF : SPK_CCKD_FIND_HEADER,
                0, e->off, NULL);
            continue;
        }
        if (!wvalid || e->off < wstart || e->off - wstart > wgot
            || wgot - (e->off - wstart) < need) {
            /* a new window from this image over the following ones close by */
            uint64_t start = e->off, end = e->off + need;
            int64_t r;
            for (uint32_t j = i + 1; j < n; j++) {
                const spk_cckd_l2ent *f = &l2[j];
                uint64_t fend;
                if (!has_image(f))
                    continue;
                if (f->off < start || f->off > OFF_LIMIT || f->off > end + WIN_GAP)
                    break;
                fend = f->off + (level >= 3 ? f->len : HA_LEN);
                if (fend - start > WIN_CAP)
                    break;
                if (fend > end)
                    end = fend;
            }
            r = spk_pread_full(fd, win, (size_t)(end - start), start);
            if (r < 0) {
                wvalid = 0;
                add(out, maxout, &nf, trk, SPK_CCKD_FIND_READ, (int)-r, e->off, NULL);
                continue;
            }
            wstart = start;
            wgot = (size_t)r;
            wvalid = 1;
        }
        at = (size_t)(e->off - wstart);
        if (at > wgot || wgot - at < need) {
            add(out, maxout, &nf, trk, level >= 3 ? SPK_CCKD_FIND_EOF : SPK_CCKD_FIND_HEADER,
                0, e->off, NULL);
            continue;
        }
        img = win + at;
        if (level < 3) {
            int ok = img[0] <= SPK_COMP_BZIP2
                     && (kind == SPK_CCKD_KIND_FBA
                             ? spk_be32(img + 1) == trk
                             : spk_be16(img + 1) == trk / heads && spk_be16(img + 3) == trk % heads);
            if (!ok)
                add(out, maxout, &nf, trk, SPK_CCKD_FIND_HEADER, 0, e->off, NULL);
            continue;
        }
        {
            int rc;
            e2.msg[0] = '\0';
            rc = spk_cckd_trk_expand(img, e->len, kind, trk, heads, flags, trk_buf, trksize,
                                     &e2);
            if (rc < 0) {
                add(out, maxout, &nf, trk, SPK_CCKD_FIND_BAD, rc, e->off, e2.msg);
                continue;
            }
            if (kind == SPK_CCKD_KIND_CKD) {
                int hc;
                e2.msg[0] = '\0';
                hc = spk_cckd_herc_check(trk_buf, (size_t)rc, trk, heads, &e2);
                if (hc < 0)
                    add(out, maxout, &nf, trk, SPK_CCKD_FIND_HERC3, hc, e->off, e2.msg);
            }
        }
    }
    if (nf > (size_t)INT32_MAX)
        return spk_fail(err, SPK_EARG, -1, -1, "too many findings");
    return (int)nf;
}

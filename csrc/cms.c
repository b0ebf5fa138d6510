/* cms.c - CMS minidisks: blocks inside track images, VM/370 chain links, EDF
 * pointer blocks, allocation bitmaps and F/V record streams.
 *
 * Layouts: docs/formats.md "CMS minidisks" (sources in vm-formats.md 2).
 * Every block number read from a disk is checked against the extent before
 * it is used; every length against the buffer it points into. */
#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

#include "internal.h"

#define MAXREC 256              /* records per track a CMS track can hold (R is 8-bit) */
#define VM370_FCL_LINKS 40      /* chain links 2..41 named by the first chain link */
#define VM370_FCL_DATA 60       /* data blocks named by the first chain link */
#define VM370_LINK_DATA 400     /* data blocks named by an Nth chain link */
#define VM370_BLOCK 800
#define VM370_FIRST_DATA 5      /* blocks 1-4: IPL, IPL, label, MFD */
#define VAR_SPANNED 0xFFFFFFFFu /* EDF: no record starts in this block */

static int check_layout(const spk_cms_layout *lay, spk_errinfo *err)
{
    if (!lay)
        return spk_fail(err, SPK_EARG, -1, -1, "no CMS layout");
    if (lay->blksize < 512 || lay->blksize > 4096)
        return spk_fail(err, SPK_EARG, -1, -1, "CMS block size %u outside 512..4096", lay->blksize);
    if (lay->per_group < 1 || lay->per_group > 255)
        return spk_fail(err, SPK_EARG, -1, -1, "%u blocks per track group", lay->per_group);
    if (lay->group_tracks == 2) {
        if (lay->split_rec < 1 || lay->split_rec >= lay->per_group)
            return spk_fail(err, SPK_EARG, -1, -1, "split record %u of a %u-block track pair",
                            lay->split_rec, lay->per_group);
        if (lay->split_len < 1 || lay->split_len >= lay->blksize)
            return spk_fail(err, SPK_EARG, -1, -1, "split segment of %u bytes", lay->split_len);
    } else if (lay->group_tracks != 1 || lay->split_rec) {
        return spk_fail(err, SPK_EARG, -1, -1, "%u tracks per group, split record %u",
                        lay->group_tracks, lay->split_rec);
    }
    return 0;
}

/* The walk shared by gather (track -> blocks) and scatter (blocks -> track).
 * blocks holds ngroups * per_group blocks, the first being the first block of
 * extent track first_trk (a group boundary); flags[i] is per block: gather
 * sets 1 when block i was found whole; scatter writes the blocks whose flag is
 * set and sets it to 2 when all its bytes went to a track. */
/* Where gathered block data goes: the block's place in a staging buffer, or
 * (list mode) every place in out where the caller asked for that block. */
typedef struct sink {
    uint8_t *blocks;            /* stage: block idx at blocks + idx * bs */
    const uint32_t *list;       /* list: the block numbers asked for */
    const uint32_t *order;      /* their indexes, sorted by block number */
    size_t n;
    uint8_t *out;               /* list: request i at out + i * bs */
    const spk_cms_dest *fdst;   /* files: request i of file f (fstart[f] <= i <
                                   fstart[f + 1]) at fdst[f].data + (i - fstart[f]) * bs,
                                   cut at fdst[f].len bytes */
    const uint64_t *fstart;
    size_t nf;
    uint32_t base;              /* block number of block idx 0, less 1 */
    size_t cur;                 /* list: where the last block's requests ended (blocks
                                   come mostly in ascending order) */
} sink;

/* The file a request belongs to: the last f with fstart[f] <= i. */
static size_t file_of(const sink *s, size_t i)
{
    size_t lo = 0, hi = s->nf;
    while (hi - lo > 1) {
        size_t mid = lo + (hi - lo) / 2;
        if (s->fstart[mid] <= i)
            lo = mid;
        else
            hi = mid;
    }
    return lo;
}

static size_t lower_bound(const sink *s, uint32_t b)
{
    size_t lo = 0, hi = s->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (s->list[s->order[mid]] < b)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static void put(sink *s, size_t idx, uint32_t off, const uint8_t *src, uint32_t n,
                uint32_t bs)
{
    size_t k = s->cur;
    uint32_t b;

    if (s->blocks) {
        memcpy(s->blocks + idx * bs + off, src, n);
        return;
    }
    b = s->base + (uint32_t)idx + 1;
    /* the cursor is the first request for b when the one before it is for
     * a lower block and it is not for a lower one; else search */
    if (!(k <= s->n && (k == 0 || s->list[s->order[k - 1]] < b)
          && (k == s->n || s->list[s->order[k]] >= b)))
        k = lower_bound(s, b);
    for (; k < s->n && s->list[s->order[k]] == b; k++) {
        size_t r = s->order[k];
        if (s->fdst) {
            size_t f = file_of(s, r);
            uint64_t pos = (uint64_t)(r - s->fstart[f]) * bs + off;
            uint64_t len = s->fdst[f].len;
            if (pos < len)
                memcpy(s->fdst[f].data + pos, src, len - pos < n ? (size_t)(len - pos) : n);
        } else {
            memcpy(s->out + r * bs + off, src, n);
        }
    }
    s->cur = k;
}

/* One piece (n bytes at offset off) of block idx: copied from the record's
 * data (gather) or into it when the block is to be written (scatter). */
static void piece(sink *dst, uint8_t *blocks, const uint8_t *flags, uint8_t *tdirty,
                  size_t i, int write, size_t idx, uint32_t off, uint8_t *data, uint32_t n,
                  uint32_t bs)
{
    if (!write) {
        put(dst, idx, off, data, n, bs);
    } else if (flags[idx]) {
        memcpy(data, blocks + idx * bs + off, n);
        tdirty[i] = 1;
    }
}

/* Block idx has all its bytes: found (gather) or written (scatter). */
static void whole(uint8_t *flags, int write, size_t idx, int *found)
{
    if (!write) {
        flags[idx] = 1;
        (*found)++;
    } else if (flags[idx]) {
        flags[idx] = 2;
        (*found)++;
    }
}

static int walk(uint8_t *buf, size_t buflen, const uint32_t *offs, const uint32_t *lens,
                uint32_t ntracks, uint32_t first_trk, int trkflags, const spk_cms_layout *lay,
                uint8_t *blocks, size_t blen, uint8_t *flags, uint8_t *tdirty, int write,
                sink *dst, spk_errinfo *err)
{
    spk_record recs[MAXREC];
    spk_track_info info;
    uint32_t gt, per, bs, pend_off = 0, i;
    int pending = 0, found = 0, rc;
    size_t ngroups, nblk;

    if ((rc = check_layout(lay, err)) < 0)
        return rc;
    if (!buf || !offs || !lens || (!blocks && !dst) || !flags)
        return spk_fail(err, SPK_EARG, -1, -1, "missing buffer");
    gt = lay->group_tracks;
    per = lay->per_group;
    bs = lay->blksize;
    if (first_trk % gt)
        return spk_fail(err, SPK_EARG, -1, first_trk, "track %u is not the first of its pair", first_trk);
    if ((uint64_t)first_trk + ntracks > lay->tracks)
        return spk_fail(err, SPK_EARG, -1, first_trk, "tracks %u+%u are outside the extent of %u",
                        first_trk, ntracks, lay->tracks);
    ngroups = (ntracks + gt - 1) / gt;
    nblk = ngroups * per;
    if (blocks && blen < nblk * bs)
        return spk_fail(err, SPK_EBUFSIZE, -1, -1, "block buffer of %zu bytes, %zu needed", blen, nblk * bs);
    for (i = 0; i < ntracks; i++) {
        uint32_t t = first_trk + i, sub = t % gt, j, nrec;
        size_t base = (size_t)(i / gt) * per;
        uint8_t *img;

        if (sub == 0)
            pending = 0;
        if (offs[i] > buflen || lens[i] > buflen - offs[i])
            return spk_fail(err, SPK_EARG, -1, t, "track image %u lies outside the buffer", i);
        img = buf + offs[i];
        if (lay->check_ha && lay->heads)
            rc = spk_track_parse(img, lens[i], lay->first_cyl + t / lay->heads, t % lay->heads,
                                 trkflags & ~SPK_TRK_ANYHA, recs, MAXREC, &info, err);
        else
            rc = spk_track_parse(img, lens[i], 0, 0, trkflags | SPK_TRK_ANYHA, recs, MAXREC,
                                 &info, err);
        if (rc == SPK_EBUFSIZE)
            return spk_fail(err, SPK_EFORMAT, -1, t, "track holds %u records: not a CMS track",
                            info.nrecs);
        if (rc < 0) {
            if (err)
                err->index = t;
            return rc;
        }
        nrec = info.nrecs;
        for (j = 1; j <= nrec; j++) {
            const spk_record *r = &recs[j];
            uint8_t *data = img + r->offset + 8 + r->kl;
            uint32_t R = r->rec, dl = r->dl, n;
            size_t idx;

            if (r->kl)
                return spk_fail(err, SPK_EFORMAT, r->offset, t,
                                "record R%u has a key (KL %u): CMS blocks have none", R, r->kl);
            if (gt == 2 && sub == 1 && j == 1 && R == lay->split_rec && pending) {
                /* the rest of the block the even track began */
                idx = base + R - 1;
                n = dl < bs - pend_off ? dl : bs - pend_off;
                piece(dst, blocks, flags, tdirty, i, write, idx, pend_off, data, n, bs);
                pending = 0;
                if (pend_off + n == bs)
                    whole(flags, write, idx, &found);
                continue;
            }
            if (R < 1 || R > per)
                return spk_fail(err, SPK_EFORMAT, r->offset, t,
                                "record R%u on a CMS track of %u blocks", R, per);
            if (gt == 2 && ((sub == 0 && R > lay->split_rec) || (sub == 1 && R <= lay->split_rec)))
                return spk_fail(err, SPK_EFORMAT, r->offset, t,
                                "record R%u on the %s track of a pair", R, sub ? "second" : "first");
            idx = base + R - 1;
            if (!write && flags[idx])
                return spk_fail(err, SPK_EFORMAT, r->offset, t, "record R%u appears twice", R);
            if (r->flags & SPK_REC_OVERFLOW) {
                if (!(gt == 2 && sub == 0 && R == lay->split_rec && j == nrec))
                    return spk_fail(err, SPK_EFORMAT, r->offset, t,
                                    "record R%u continues on the next track where CMS splits no record", R);
                n = dl < bs ? dl : bs;
                piece(dst, blocks, flags, tdirty, i, write, idx, 0, data, n, bs);
                pending = n < bs;
                pend_off = n;
                if (n == bs)
                    whole(flags, write, idx, &found);
                continue;
            }
            if (dl < bs)
                return spk_fail(err, SPK_EFORMAT, r->offset, t,
                                "record R%u has %u bytes; a CMS block has %u", R, dl, bs);
            piece(dst, blocks, flags, tdirty, i, write, idx, 0, data, bs, bs);
            whole(flags, write, idx, &found);
        }
    }
    if (write) {
        for (i = 0; i < nblk; i++)
            if (flags[i] == 1)
                return spk_fail(err, SPK_EFORMAT, -1, (int64_t)(first_trk + (i / per) * gt),
                                "no record for block %u of the track group: not formatted for CMS",
                                (unsigned)(i % per + 1));
    }
    return found;
}

int spk_cms_gather(const uint8_t *buf, size_t buflen, const uint32_t *offs, const uint32_t *lens,
                   uint32_t ntracks, uint32_t first_trk, int trkflags, const spk_cms_layout *lay,
                   uint8_t *out, size_t outlen, uint8_t *present, spk_errinfo *err)
{
    size_t nblk;

    if (lay && present && lay->group_tracks >= 1 && lay->group_tracks <= 2) {
        nblk = (size_t)((ntracks + lay->group_tracks - 1) / lay->group_tracks) * lay->per_group;
        memset(present, 0, nblk);
    }
    sink dst;

    memset(&dst, 0, sizeof dst);
    dst.blocks = out;
    if (!out)
        return spk_fail(err, SPK_EARG, -1, -1, "missing buffer");
    return walk((uint8_t *)buf, buflen, offs, lens, ntracks, first_trk, trkflags, lay, out,
                outlen, present, NULL, 0, &dst, err);
}

/* The list-mode walk shared by gather_to and gather_files: dst has list,
 * order, n and its destinations set. */
static int check_order(const uint32_t *list, const uint32_t *order, size_t n, spk_errinfo *err)
{
    size_t k;
    for (k = 0; k < n; k++)
        if (order[k] >= n || (k && list[order[k]] < list[order[k - 1]]))
            return spk_fail(err, SPK_EARG, -1, (int64_t)k, "order is not a sort of the list");
    return 0;
}

static int gather_list(const uint8_t *buf, size_t buflen, const uint32_t *offs,
                       const uint32_t *lens, uint32_t ntracks, uint32_t first_trk, int trkflags,
                       const spk_cms_layout *lay, sink *dst, uint8_t *got, int checked,
                       spk_errinfo *err)
{
    const uint32_t *list = dst->list, *order = dst->order;
    size_t n = dst->n, nblk, k;
    uint8_t *flags;
    uint32_t lo, hi;
    int rc;

    nblk = (size_t)((ntracks + lay->group_tracks - 1) / lay->group_tracks) * lay->per_group;
    if (!checked && (rc = check_order(list, order, n, err)) < 0)
        return rc;
    flags = calloc(nblk ? nblk : 1, 1);
    if (!flags)
        return spk_fail(err, SPK_ENOMEM, -1, -1, "out of memory");
    dst->base = (first_trk / lay->group_tracks) * lay->per_group;
    rc = walk((uint8_t *)buf, buflen, offs, lens, ntracks, first_trk, trkflags, lay, NULL, 0,
              flags, NULL, 0, dst, err);
    if (rc >= 0) {
        lo = dst->base + 1;
        hi = dst->base + (uint32_t)nblk;
        for (k = lower_bound(dst, lo); k < n && list[order[k]] <= hi; k++)
            if (flags[list[order[k]] - lo])
                got[order[k]] = 1;
    }
    free(flags);
    return rc;
}

int spk_cms_gather_to(const uint8_t *buf, size_t buflen, const uint32_t *offs,
                      const uint32_t *lens, uint32_t ntracks, uint32_t first_trk, int trkflags,
                      const spk_cms_layout *lay, const uint32_t *list, const uint32_t *order,
                      size_t n, uint8_t *out, size_t outlen, uint8_t *got, spk_errinfo *err)
{
    sink dst;
    int rc;

    if ((rc = check_layout(lay, err)) < 0)
        return rc;
    if (!list || !order || !out || !got)
        return spk_fail(err, SPK_EARG, -1, -1, "missing buffer");
    if (outlen / lay->blksize < n)
        return spk_fail(err, SPK_EBUFSIZE, -1, -1, "output for %zu blocks too small", n);
    memset(&dst, 0, sizeof dst);
    dst.list = list;
    dst.order = order;
    dst.n = n;
    dst.out = out;
    return gather_list(buf, buflen, offs, lens, ntracks, first_trk, trkflags, lay, &dst, got, 0,
                       err);
}

static int check_files(const spk_cms_layout *lay, const uint32_t *list, const uint32_t *order,
                       size_t n, const uint64_t *fstart, size_t nf, const spk_cms_dest *fdst,
                       const uint8_t *got, spk_errinfo *err)
{
    size_t f;

    if ((n && (!list || !order || !got)) || !fstart || (nf && !fdst))
        return spk_fail(err, SPK_EARG, -1, -1, "missing buffer");
    if (fstart[0] != 0 || fstart[nf] != n)
        return spk_fail(err, SPK_EARG, -1, -1, "file starts do not cover the %zu requests", n);
    for (f = 0; f < nf; f++) {
        if (fstart[f + 1] < fstart[f])
            return spk_fail(err, SPK_EARG, -1, (int64_t)f, "file starts not ascending");
        if (fdst[f].len > (fstart[f + 1] - fstart[f]) * (uint64_t)lay->blksize)
            return spk_fail(err, SPK_EARG, -1, (int64_t)f,
                            "file %zu: %llu bytes from %llu blocks", f,
                            (unsigned long long)fdst[f].len,
                            (unsigned long long)(fstart[f + 1] - fstart[f]));
        if (fdst[f].len && !fdst[f].data)
            return spk_fail(err, SPK_EARG, -1, (int64_t)f, "missing buffer");
    }
    return 0;
}

static void files_sink(sink *dst, const uint32_t *list, const uint32_t *order, size_t n,
                       const uint64_t *fstart, size_t nf, const spk_cms_dest *fdst)
{
    memset(dst, 0, sizeof *dst);
    dst->list = list;
    dst->order = order;
    dst->n = n;
    dst->fdst = fdst;
    dst->fstart = fstart;
    dst->nf = nf;
}

int spk_cms_gather_files(const uint8_t *buf, size_t buflen, const uint32_t *offs,
                         const uint32_t *lens, uint32_t ntracks, uint32_t first_trk, int trkflags,
                         const spk_cms_layout *lay, const uint32_t *list, const uint32_t *order,
                         size_t n, const uint64_t *fstart, size_t nf, const spk_cms_dest *fdst,
                         uint8_t *got, spk_errinfo *err)
{
    sink dst;
    int rc;

    if ((rc = check_layout(lay, err)) < 0)
        return rc;
    if ((rc = check_files(lay, list, order, n, fstart, nf, fdst, got, err)) < 0)
        return rc;
    if (!n)
        return 0;
    files_sink(&dst, list, order, n, fstart, nf, fdst);
    return gather_list(buf, buflen, offs, lens, ntracks, first_trk, trkflags, lay, &dst, got, 0,
                       err);
}

#define FD_CHUNK (1u << 18)     /* pread this much at a time: the parse finds it in cache */

int spk_cms_gather_files_fd(int fd, int64_t off0, uint32_t trksize, const uint32_t *spans,
                            size_t nspans, int trkflags, const spk_cms_layout *lay,
                            const uint32_t *list, const uint32_t *order, size_t n,
                            const uint64_t *fstart, size_t nf, const spk_cms_dest *fdst,
                            uint8_t *got, spk_errinfo *err)
{
    uint32_t per, i, *offs = NULL, *lens = NULL;
    uint8_t *buf = NULL;
    size_t sp;
    sink dst;
    int rc, found = 0;

    if ((rc = check_layout(lay, err)) < 0)
        return rc;
    if ((rc = check_files(lay, list, order, n, fstart, nf, fdst, got, err)) < 0)
        return rc;
    if (fd < 0 || trksize == 0 || (nspans && !spans))
        return spk_fail(err, SPK_EARG, -1, -1, "bad track source");
    for (sp = 0; sp < nspans; sp++) {
        uint32_t t0 = spans[2 * sp], k = spans[2 * sp + 1];
        if (t0 % lay->group_tracks || (uint64_t)t0 + k > lay->tracks
            || off0 + (int64_t)t0 * trksize < 0)
            return spk_fail(err, SPK_EARG, -1, t0, "span of tracks %u+%u outside the extent of %u",
                            t0, k, lay->tracks);
    }
    if (!n || !nspans)
        return 0;
    if ((rc = check_order(list, order, n, err)) < 0)
        return rc;
    /* whole track groups per chunk, at least one group */
    per = trksize >= FD_CHUNK ? 1 : FD_CHUNK / trksize;
    per -= per % lay->group_tracks;
    if (per < lay->group_tracks)
        per = lay->group_tracks;
    buf = malloc((size_t)per * trksize);
    offs = malloc(per * sizeof *offs);
    lens = malloc(per * sizeof *lens);
    if (!buf || !offs || !lens) {
        rc = spk_fail(err, SPK_ENOMEM, -1, -1, "no memory for the track buffer");
        goto out;
    }
    for (i = 0; i < per; i++) {
        offs[i] = i * trksize;
        lens[i] = trksize;
    }
    files_sink(&dst, list, order, n, fstart, nf, fdst);
    for (sp = 0; sp < nspans; sp++) {
        uint32_t t0 = spans[2 * sp], ntracks = spans[2 * sp + 1], t = 0;

        while (t < ntracks) {
            uint32_t k = ntracks - t < per ? ntracks - t : per;
            size_t want = (size_t)k * trksize, have = 0;
            uint64_t at = (uint64_t)(off0 + (int64_t)(t0 + t) * trksize);

            while (have < want) {
                ssize_t r = pread(fd, buf + have, want - have, (off_t)(at + have));
                if (r < 0 && errno == EINTR)
                    continue;
                if (r <= 0) {
                    rc = spk_fail(err, SPK_ETRUNC, (int64_t)(at + have),
                                  (int64_t)(t0 + t + have / trksize),
                                  "reading track slots at offset %llu: %s",
                                  (unsigned long long)(at + have),
                                  r < 0 ? strerror(errno) : "the file ended (it shrank while open)");
                    goto out;
                }
                have += (size_t)r;
            }
            rc = gather_list(buf, want, offs, lens, k, t0 + t, trkflags, lay, &dst, got, 1, err);
            if (rc < 0)
                goto out;
            found += rc;
            t += k;
        }
    }
    rc = found;
out:
    free(buf);
    free(offs);
    free(lens);
    return rc;
}

int spk_cms_order(const uint32_t *list, size_t n, uint32_t *order, spk_errinfo *err)
{
    uint32_t *tmp, *cnt;
    size_t i;
    int pass;

    if ((n && (!list || !order)) || n > UINT32_MAX)
        return spk_fail(err, SPK_EARG, -1, -1, "missing buffer");
    if (!n)
        return 0;
    for (i = 1; i < n && list[i - 1] <= list[i]; i++)
        ;
    if (i == n || n < 4096) {
        /* ascending already (files CMS wrote first fit), or short: an
         * insertion sort, stable, linear on nearly sorted lists */
        for (i = 0; i < n; i++) {
            size_t j = i;
            uint32_t v = list[i];
            while (j && list[order[j - 1]] > v) {
                order[j] = order[j - 1];
                j--;
            }
            order[j] = (uint32_t)i;
        }
        return (int)(n > INT32_MAX ? INT32_MAX : n);
    }
    tmp = malloc((n ? n : 1) * sizeof *tmp);
    cnt = malloc(65537 * sizeof *cnt);
    if (!tmp || !cnt) {
        free(tmp);
        free(cnt);
        return spk_fail(err, SPK_ENOMEM, -1, -1, "out of memory");
    }
    for (i = 0; i < n; i++)
        order[i] = (uint32_t)i;
    /* stable LSD radix sort on the two 16-bit halves of the block numbers */
    for (pass = 0; pass < 2; pass++) {
        int shift = pass * 16;
        memset(cnt, 0, 65537 * sizeof *cnt);
        for (i = 0; i < n; i++)
            cnt[((list[order[i]] >> shift) & 0xFFFF) + 1]++;
        for (i = 1; i <= 65536; i++)
            cnt[i] += cnt[i - 1];
        for (i = 0; i < n; i++)
            tmp[cnt[(list[order[i]] >> shift) & 0xFFFF]++] = order[i];
        memcpy(order, tmp, n * sizeof *order);
    }
    free(tmp);
    free(cnt);
    return (int)(n > INT32_MAX ? INT32_MAX : n);
}

int spk_cms_scatter(uint8_t *buf, size_t buflen, const uint32_t *offs, const uint32_t *lens,
                    uint32_t ntracks, uint32_t first_trk, int trkflags, const spk_cms_layout *lay,
                    const uint8_t *blocks, size_t blen, uint8_t *dirty, uint8_t *tdirty,
                    spk_errinfo *err)
{
    if (!tdirty)
        return spk_fail(err, SPK_EARG, -1, -1, "missing buffer");
    memset(tdirty, 0, ntracks);
    return walk(buf, buflen, offs, lens, ntracks, first_trk, trkflags, lay, (uint8_t *)blocks,
                blen, dirty, tdirty, 1, NULL, err);
}

int spk_cms_format_track(uint8_t *out, size_t outlen, uint32_t cyl, uint32_t head,
                         uint32_t rcyl, uint32_t rhead, uint32_t sub, const spk_cms_layout *lay,
                         const uint8_t *data, size_t datalen, spk_errinfo *err)
{
    spk_recspec recs[MAXREC];
    uint32_t per, bs, first, last, R;
    size_t n = 0;
    int rc;

    if ((rc = check_layout(lay, err)) < 0)
        return rc;
    per = lay->per_group;
    bs = lay->blksize;
    if (sub >= lay->group_tracks)
        return spk_fail(err, SPK_EARG, -1, -1, "track %u of a group of %u", sub, lay->group_tracks);
    if (data && datalen < (size_t)per * bs)
        return spk_fail(err, SPK_EARG, -1, -1, "%zu bytes for a group of %u blocks", datalen, per);
    if (rcyl > 0x7fff || rhead > 0xffff)
        return spk_fail(err, SPK_EARG, -1, -1, "cylinder %u head %u out of range", rcyl, rhead);
    if (lay->group_tracks == 1) {
        first = 1;
        last = per;
    } else if (sub == 0) {
        first = 1;
        last = lay->split_rec;
    } else {
        first = lay->split_rec;          /* the continuation first */
        last = per;
    }
    for (R = first; R <= last; R++) {
        spk_recspec *s = &recs[n++];
        const uint8_t *blk = data ? data + (size_t)(R - 1) * bs : NULL;

        memset(s, 0, sizeof *s);
        s->cyl = (uint16_t)rcyl;
        s->head = (uint16_t)rhead;
        s->rec = (uint8_t)R;
        s->dl = bs;
        s->data = blk;
        if (lay->group_tracks == 2 && R == lay->split_rec) {
            if (sub == 0) {
                s->dl = lay->split_len;
                s->overflow = 1;
            } else {
                s->dl = bs - lay->split_len;
                s->data = blk ? blk + lay->split_len : NULL;
            }
        }
    }
    return spk_track_build(out, outlen, cyl, head, NULL, recs, n, err);
}

int spk_cms_groups(const uint32_t *blocks, size_t n, uint32_t per_group, uint32_t maxblock,
                   uint8_t *mark, size_t nmark, spk_errinfo *err)
{
    size_t i;
    int count = 0;

    if (!blocks || !mark || per_group < 1)
        return spk_fail(err, SPK_EARG, -1, -1, "missing buffer");
    for (i = 0; i < n; i++) {
        uint32_t b = blocks[i];
        size_t g;

        if (b == 0)
            continue;                     /* a null (never written) block */
        if (b > maxblock)
            return spk_fail(err, SPK_ERANGE, -1, (int64_t)i,
                            "block %u is past the end of the minidisk (%u blocks)", b, maxblock);
        g = (b - 1) / per_group;
        if (g >= nmark)
            return spk_fail(err, SPK_EARG, -1, (int64_t)i, "group table too small");
        count += !mark[g];
        mark[g] = 1;
    }
    return count;
}

/* ---- VM/370 chain links ------------------------------------------------- */

static uint32_t links_needed(uint32_t nblocks)
{
    if (nblocks <= VM370_FCL_DATA)
        return 0;
    return (nblocks - VM370_FCL_DATA + VM370_LINK_DATA - 1) / VM370_LINK_DATA;
}

int spk_cms_vm370_links(const uint8_t *fcl, size_t len, uint32_t nblocks, uint32_t maxblock,
                        uint32_t *out, spk_errinfo *err)
{
    uint32_t need = links_needed(nblocks), i;

    if (!fcl || !out)
        return spk_fail(err, SPK_EARG, -1, -1, "missing buffer");
    if (len < 200)
        return spk_fail(err, SPK_ETRUNC, (int64_t)len, -1, "first chain link of %zu bytes", len);
    if (need > VM370_FCL_LINKS)
        return spk_fail(err, SPK_EFORMAT, -1, -1,
                        "%u data blocks: more than a VM/370 file's 41 chain links hold (16060)",
                        nblocks);
    for (i = 0; i < need; i++) {
        uint32_t b = spk_be16(fcl + 2 * i);
        if (b < VM370_FIRST_DATA)
            return spk_fail(err, SPK_EFORMAT, 2 * i, i,
                            "chain link %u is block %u (blocks 1-4 are IPL, label and MFD)", i + 2, b);
        if (b > maxblock)
            return spk_fail(err, SPK_ERANGE, 2 * i, i,
                            "chain link %u is block %u, past the end of the minidisk (%u blocks)",
                            i + 2, b, maxblock);
        out[i] = b;
    }
    return (int)need;
}

static int mark_once(uint8_t *seen, uint32_t b)
{
    uint8_t bit = (uint8_t)(0x80 >> (b & 7));
    if (seen[b >> 3] & bit)
        return 1;
    seen[b >> 3] |= bit;
    return 0;
}

int spk_cms_vm370_blocks(const uint8_t *fcl, size_t fcllen, const uint8_t *links, size_t linkslen,
                         uint32_t nblocks, uint32_t maxblock, const uint32_t *meta, size_t nmeta,
                         uint32_t *out, size_t maxout, spk_errinfo *err)
{
    uint32_t need = links_needed(nblocks), i;
    uint8_t *seen;
    int rc = (int)nblocks;

    if (!fcl || !out || (nmeta && !meta))
        return spk_fail(err, SPK_EARG, -1, -1, "missing buffer");
    if (fcllen < 200)
        return spk_fail(err, SPK_ETRUNC, (int64_t)fcllen, -1, "first chain link of %zu bytes", fcllen);
    if (need > VM370_FCL_LINKS)
        return spk_fail(err, SPK_EFORMAT, -1, -1,
                        "%u data blocks: more than a VM/370 file's 41 chain links hold (16060)",
                        nblocks);
    if ((size_t)need * VM370_BLOCK > linkslen || (need && !links))
        return spk_fail(err, SPK_EARG, -1, -1, "%u chain links needed, %zu bytes given", need, linkslen);
    if (maxout < nblocks)
        return spk_fail(err, SPK_EBUFSIZE, -1, -1, "room for %zu block numbers, %u needed", maxout, nblocks);
    if (maxblock > 0xFFFF)
        return spk_fail(err, SPK_EARG, -1, -1, "a VM/370 minidisk has at most 65535 blocks");
    seen = calloc(((size_t)maxblock >> 3) + 1, 1);
    if (!seen)
        return spk_fail(err, SPK_ENOMEM, -1, -1, "out of memory");
    for (i = 0; i < nmeta; i++)
        if (meta[i] && meta[i] <= maxblock)
            mark_once(seen, meta[i]);
    for (i = 0; i < nblocks; i++) {
        const uint8_t *p;
        uint32_t b;
        int64_t off;

        if (i < VM370_FCL_DATA) {
            off = 2 * (VM370_FCL_LINKS + i);
            p = fcl + off;
        } else {
            uint32_t k = i - VM370_FCL_DATA;
            off = (int64_t)(k / VM370_LINK_DATA) * VM370_BLOCK + 2 * (k % VM370_LINK_DATA);
            p = links + off;
        }
        b = spk_be16(p);
        if (b < VM370_FIRST_DATA) {
            rc = spk_fail(err, SPK_EFORMAT, off, i, b ? "data block %u is block %u (IPL, label or MFD)"
                          : "data block %u is missing (block number %u)", i + 1, b);
            break;
        }
        if (b > maxblock) {
            rc = spk_fail(err, SPK_ERANGE, off, i,
                          "data block %u is block %u, past the end of the minidisk (%u blocks)",
                          i + 1, b, maxblock);
            break;
        }
        if (mark_once(seen, b)) {
            rc = spk_fail(err, SPK_ELOOP, off, i,
                          "data block %u is block %u, which the file's chain already uses", i + 1, b);
            break;
        }
        out[i] = b;
    }
    free(seen);
    return rc;
}

int spk_cms_vm370_build(const uint32_t *data, size_t n, const uint32_t *links, size_t nlinks,
                        uint8_t *fcl, size_t fcllen, uint8_t *linkbuf, size_t linkslen,
                        spk_errinfo *err)
{
    size_t i;

    if (!fcl || (n && !data) || (nlinks && (!links || !linkbuf)))
        return spk_fail(err, SPK_EARG, -1, -1, "missing buffer");
    if (n > VM370_FCL_DATA + (size_t)VM370_FCL_LINKS * VM370_LINK_DATA)
        return spk_fail(err, SPK_EARG, -1, -1, "%zu data blocks exceed a VM/370 file's 16060", n);
    if (nlinks != links_needed((uint32_t)n))
        return spk_fail(err, SPK_EARG, -1, -1, "%zu chain links for %zu blocks", nlinks, n);
    if (fcllen < 200 || linkslen < nlinks * VM370_BLOCK)
        return spk_fail(err, SPK_EBUFSIZE, -1, -1, "chain link buffers too small");
    memset(fcl, 0, 200);
    if (nlinks)
        memset(linkbuf, 0, nlinks * VM370_BLOCK);
    for (i = 0; i < nlinks; i++) {
        if (links[i] > 0xFFFF)
            return spk_fail(err, SPK_EARG, -1, (int64_t)i, "block %u", links[i]);
        spk_put_be16(fcl + 2 * i, links[i]);
    }
    for (i = 0; i < n; i++) {
        uint8_t *p;
        if (data[i] > 0xFFFF)
            return spk_fail(err, SPK_EARG, -1, (int64_t)i, "block %u", data[i]);
        if (i < VM370_FCL_DATA) {
            p = fcl + 2 * (VM370_FCL_LINKS + i);
        } else {
            size_t k = i - VM370_FCL_DATA;
            p = linkbuf + (k / VM370_LINK_DATA) * VM370_BLOCK + 2 * (k % VM370_LINK_DATA);
        }
        spk_put_be16(p, data[i]);
    }
    return (int)n;
}

/* ---- EDF pointer blocks ------------------------------------------------- */

static uint32_t ptrs_per_block(uint32_t bs, int var) { return var ? bs / 12 : bs / 4; }

/* the ``count`` pointers of one file's pointer blocks in buf[0..len); hirec and
 * disp (V pointers' other fields) may be NULL when not wanted */
static int64_t edf_ptrs(const uint8_t *buf, size_t len, uint32_t blksize, int var,
                        uint64_t count, uint32_t maxblock, uint32_t *out, uint32_t *hirec,
                        uint32_t *disp, spk_errinfo *err)
{
    uint32_t ppb, esz;
    uint64_t i;

    ppb = ptrs_per_block(blksize, var);
    esz = var ? 12 : 4;
    if ((count + ppb - 1) / ppb > len / blksize)
        return spk_fail(err, SPK_ETRUNC, (int64_t)len, -1,
                        "%llu pointers need %llu pointer blocks, %zu bytes given",
                        (unsigned long long)count, (unsigned long long)((count + ppb - 1) / ppb), len);
    for (i = 0; i < count; i++) {
        size_t off = (size_t)(i / ppb) * blksize + (size_t)(i % ppb) * esz;
        uint32_t b = spk_be32(buf + off);

        if (b > maxblock)
            return spk_fail(err, SPK_ERANGE, (int64_t)off, (int64_t)i,
                            "pointer %llu names block %u, past the end of the minidisk (%u blocks)",
                            (unsigned long long)i + 1, b, maxblock);
        out[i] = b;
        if (hirec) {
            hirec[i] = spk_be32(buf + off + 4);
            disp[i] = spk_be32(buf + off + 8);
        }
    }
    return (int64_t)count;
}

int64_t spk_cms_edf_ptrs(const uint8_t *buf, size_t len, uint32_t blksize, int var,
                         uint64_t count, uint32_t maxblock, uint32_t *out, uint32_t *hirec,
                         uint32_t *disp, spk_errinfo *err)
{
    if (!buf || !out || (var && (!hirec || !disp)))
        return spk_fail(err, SPK_EARG, -1, -1, "missing buffer");
    if (blksize < 512 || blksize > 4096)
        return spk_fail(err, SPK_EARG, -1, -1, "block size %u", blksize);
    return edf_ptrs(buf, len, blksize, var, count, maxblock, out, var ? hirec : NULL,
                    var ? disp : NULL, err);
}

int64_t spk_cms_edf_ptrs_many(const uint8_t *buf, size_t len, uint32_t blksize, size_t nf,
                              const uint8_t *var, const uint64_t *first, const uint64_t *nblk,
                              const uint64_t *count, const uint64_t *ostart, uint32_t maxblock,
                              uint32_t *out, size_t nout, uint64_t *bad, spk_errinfo *err)
{
    size_t f;
    int64_t total = 0;

    if (!bad || (nf && (!buf || !var || !first || !nblk || !count || !ostart || !out)))
        return spk_fail(err, SPK_EARG, -1, -1, "missing buffer");
    if (blksize < 512 || blksize > 4096)
        return spk_fail(err, SPK_EARG, -1, -1, "block size %u", blksize);
    for (f = 0; f < nf; f++) {
        uint64_t n = count[f];
        int64_t rc;

        *bad = f;
        if (first[f] > len / blksize || nblk[f] > len / blksize - first[f])
            return spk_fail(err, SPK_EARG, -1, (int64_t)f,
                            "file %zu: pointer blocks outside the buffer", f);
        if (ostart[f] > nout || n > nout - ostart[f])
            return spk_fail(err, SPK_EARG, -1, (int64_t)f, "room for %zu block numbers", nout);
        rc = edf_ptrs(buf + first[f] * blksize, (size_t)(nblk[f] * blksize), blksize, var[f], n,
                      maxblock, out + ostart[f], NULL, NULL, err);
        if (rc < 0)
            return rc;
        total += rc;
    }
    *bad = nf;
    return total;
}

int64_t spk_cms_edf_ptrblocks(const uint32_t *children, const uint32_t *hirec, const uint32_t *disp,
                              uint64_t n, uint32_t blksize, int var, uint8_t *out, size_t outcap,
                              uint32_t *up_hirec, uint32_t *up_disp, spk_errinfo *err)
{
    uint32_t ppb, esz;
    uint64_t nblk, i;

    if (!children || !out || (var && (!hirec || !disp || !up_hirec || !up_disp)))
        return spk_fail(err, SPK_EARG, -1, -1, "missing buffer");
    if (blksize < 512 || blksize > 4096)
        return spk_fail(err, SPK_EARG, -1, -1, "block size %u", blksize);
    ppb = ptrs_per_block(blksize, var);
    esz = var ? 12 : 4;
    nblk = (n + ppb - 1) / ppb;
    if (nblk * blksize > outcap)
        return spk_fail(err, SPK_EBUFSIZE, -1, -1, "pointer blocks need %llu bytes",
                        (unsigned long long)(nblk * blksize));
    memset(out, 0, (size_t)(nblk * blksize));
    for (i = 0; i < n; i++) {
        uint64_t k = i / ppb, e = i % ppb;
        uint8_t *p = out + k * blksize + e * esz;

        spk_put_be32(p, children[i]);
        if (var) {
            spk_put_be32(p + 4, hirec[i]);
            spk_put_be32(p + 8, disp[i]);
            if (e == 0)
                up_disp[k] = disp[i];
            up_hirec[k] = hirec[i];
            /* offset of the last entry used, in the block's last word */
            spk_put_be32(out + (k + 1) * blksize - 4, (uint32_t)(e * esz));
        }
    }
    return (int64_t)nblk;
}

/* ---- allocation bitmaps (bit 0 of byte 0 is block 1) --------------------- */

static int bit_get(const uint8_t *map, uint32_t bit) { return (map[bit >> 3] >> (7 - (bit & 7))) & 1; }

int64_t spk_cms_bitmap_alloc(uint8_t *map, size_t maplen, uint32_t nbits, uint32_t count,
                             uint32_t *out, spk_errinfo *err)
{
    uint32_t bit = 0, got = 0;

    if (!map || (count && !out))
        return spk_fail(err, SPK_EARG, -1, -1, "missing buffer");
    if (((uint64_t)nbits + 7) / 8 > maplen)
        return spk_fail(err, SPK_EARG, -1, -1, "bitmap of %zu bytes for %u blocks", maplen, nbits);
    /* first fit, lowest block first, as CMS's DMSTRKA does */
    while (got < count && bit < nbits) {
        if ((bit & 7) == 0 && map[bit >> 3] == 0xFF && bit + 8 <= nbits) {
            bit += 8;
            continue;
        }
        if (!bit_get(map, bit)) {
            map[bit >> 3] |= (uint8_t)(0x80 >> (bit & 7));
            out[got++] = bit + 1;
        }
        bit++;
    }
    if (got < count) {
        uint32_t k;
        for (k = 0; k < got; k++)           /* leave the map as it was */
            map[(out[k] - 1) >> 3] &= (uint8_t)~(0x80 >> ((out[k] - 1) & 7));
        return spk_fail(err, SPK_ENOSPACE, -1, -1, "the minidisk is full: %u blocks needed, %u free",
                        count, got);
    }
    return got;
}

int64_t spk_cms_bitmap_set(uint8_t *map, size_t maplen, uint32_t nbits, const uint32_t *blocks,
                           size_t n, int value, uint32_t *bad, spk_errinfo *err)
{
    size_t i;
    int64_t changed = 0;

    if (!map || (n && !blocks))
        return spk_fail(err, SPK_EARG, -1, -1, "missing buffer");
    if (((uint64_t)nbits + 7) / 8 > maplen)
        return spk_fail(err, SPK_EARG, -1, -1, "bitmap of %zu bytes for %u blocks", maplen, nbits);
    for (i = 0; i < n; i++) {
        uint32_t b = blocks[i];
        if (b == 0)
            continue;
        if (b > nbits) {
            if (bad)
                *bad = b;
            return spk_fail(err, SPK_ERANGE, -1, (int64_t)i,
                            "block %u is past the end of the minidisk (%u blocks)", b, nbits);
        }
        if (bit_get(map, b - 1) != !!value) {
            changed++;
            if (value)
                map[(b - 1) >> 3] |= (uint8_t)(0x80 >> ((b - 1) & 7));
            else
                map[(b - 1) >> 3] &= (uint8_t)~(0x80 >> ((b - 1) & 7));
        } else if (bad && !*bad) {
            *bad = b;                        /* first block already in that state */
        }
    }
    return changed;
}

int64_t spk_cms_bitmap_count(const uint8_t *map, size_t maplen, uint32_t nbits)
{
    uint64_t n = 0;
    uint32_t i, full = nbits / 8;

    if (!map || ((uint64_t)nbits + 7) / 8 > maplen)
        return SPK_EARG;
    for (i = 0; i < full; i++)
        n += (uint64_t)__builtin_popcount(map[i]);
    for (i = full * 8; i < nbits; i++)
        n += (uint64_t)bit_get(map, i);
    return (int64_t)n;
}

int64_t spk_cms_bitmap_diff(const uint8_t *a, const uint8_t *b, size_t maplen, uint32_t nbits,
                            uint32_t *out, size_t maxout)
{
    uint32_t i;
    int64_t n = 0;

    if (!a || !b || ((uint64_t)nbits + 7) / 8 > maplen)
        return SPK_EARG;
    for (i = 0; i < nbits; i++) {
        if ((i & 7) == 0 && i + 8 <= nbits && (a[i >> 3] & ~b[i >> 3]) == 0) {
            i += 7;
            continue;
        }
        if (bit_get(a, i) && !bit_get(b, i)) {
            if (out && (size_t)n < maxout)
                out[n] = i + 1;
            n++;
        }
    }
    return n;
}

int64_t spk_cms_mark(uint8_t *map, size_t maplen, uint32_t nbits, const uint32_t *blocks,
                     size_t n, uint32_t *dups, size_t maxdups)
{
    size_t i;
    int64_t d = 0;

    if (!map || (n && !blocks) || ((uint64_t)nbits + 7) / 8 > maplen)
        return SPK_EARG;
    for (i = 0; i < n; i++) {
        uint32_t b = blocks[i];
        if (b == 0 || b > nbits)
            continue;
        if (bit_get(map, b - 1)) {
            if (dups && (size_t)d < maxdups)
                dups[d] = b;
            d++;
        } else {
            map[(b - 1) >> 3] |= (uint8_t)(0x80 >> ((b - 1) & 7));
        }
    }
    return d;
}

/* ---- F and V record streams ------------------------------------------------ */

int64_t spk_cms_unpack(const uint8_t *data, size_t len, int var, uint32_t lrecl, uint64_t nrecs,
                       uint8_t *out, size_t outcap, uint32_t *ends, spk_errinfo *err)
{
    uint64_t i;
    size_t pos = 0, total = 0;

    if (!data || (nrecs && !ends))
        return spk_fail(err, SPK_EARG, -1, -1, "missing buffer");
    if (!var) {
        uint64_t need = nrecs * (uint64_t)lrecl;
        if (lrecl == 0 && nrecs)
            return spk_fail(err, SPK_EFORMAT, -1, -1, "F file with LRECL 0");
        if (need > len)
            return spk_fail(err, SPK_ETRUNC, (int64_t)len, -1,
                            "%llu records of %u bytes need %llu bytes; the file's blocks hold %zu",
                            (unsigned long long)nrecs, lrecl, (unsigned long long)need, len);
        if ((out && need > outcap) || need > UINT32_MAX)
            return spk_fail(err, SPK_EBUFSIZE, -1, -1, "records of %llu bytes", (unsigned long long)need);
        if (out)
            memcpy(out, data, (size_t)need);
        for (i = 0; i < nrecs; i++)
            ends[i] = (uint32_t)((i + 1) * lrecl);
        return (int64_t)need;
    }
    for (i = 0; i < nrecs; i++) {
        uint32_t n;
        if (pos + 2 > len)
            return spk_fail(err, SPK_ETRUNC, (int64_t)pos, (int64_t)i,
                            "record %llu: the file's blocks end before its length field",
                            (unsigned long long)i + 1);
        n = spk_be16(data + pos);
        if (n == 0)
            return spk_fail(err, SPK_EFORMAT, (int64_t)pos, (int64_t)i,
                            "record %llu has length 0 (end of data) but the FST counts %llu records",
                            (unsigned long long)i + 1, (unsigned long long)nrecs);
        if (n > lrecl)
            return spk_fail(err, SPK_EFORMAT, (int64_t)pos, (int64_t)i,
                            "record %llu of %u bytes is longer than the file's LRECL %u",
                            (unsigned long long)i + 1, n, lrecl);
        pos += 2;
        if (n > len - pos)
            return spk_fail(err, SPK_ETRUNC, (int64_t)pos, (int64_t)i,
                            "record %llu of %u bytes runs past the file's blocks",
                            (unsigned long long)i + 1, n);
        if ((out && total + n > outcap) || total + n > UINT32_MAX)
            return spk_fail(err, SPK_EBUFSIZE, -1, (int64_t)i, "record buffer too small");
        if (out)
            memmove(out + total, data + pos, n);     /* out may be data: in place */
        pos += n;
        total += n;
        ends[i] = (uint32_t)total;
    }
    return (int64_t)total;
}

int64_t spk_cms_unpack_files(uint8_t *buf, size_t buflen, size_t nf, const uint8_t *kind,
                             const uint64_t *at, const uint64_t *len, const uint32_t *lrecl,
                             const uint64_t *nrecs, uint32_t *ends, size_t nends, uint64_t *size,
                             uint64_t *bad, spk_errinfo *err)
{
    size_t f, e = 0;

    if ((nf && (!kind || !at || !len || !lrecl || !nrecs || !size)) || !bad)
        return spk_fail(err, SPK_EARG, -1, -1, "missing buffer");
    for (f = 0; f < nf; f++) {
        uint64_t i, n = nrecs[f];
        int64_t rc;

        *bad = f;
        if (n > nends - e)
            return spk_fail(err, SPK_EARG, -1, (int64_t)f, "room for %zu record ends", nends);
        if (kind[f] == 0) {                      /* F records already in place: their ends */
            uint64_t need = n * (uint64_t)lrecl[f];
            if (lrecl[f] == 0 || need > UINT32_MAX)
                return spk_fail(err, SPK_EARG, -1, (int64_t)f, "F records of %llu bytes",
                                (unsigned long long)need);
            for (i = 0; i < n; i++)
                ends[e + i] = (uint32_t)((i + 1) * lrecl[f]);
            size[f] = need;
        } else {
            int var = kind[f] == 2;
            if (!buf || at[f] > buflen || len[f] > buflen - at[f])
                return spk_fail(err, SPK_EARG, -1, (int64_t)f, "file %zu lies outside the buffer", f);
            rc = spk_cms_unpack(buf + at[f], (size_t)len[f], var, lrecl[f], n,
                                var ? buf + at[f] : NULL, (size_t)len[f], n ? ends + e : NULL, err);
            if (rc < 0)
                return rc;
            size[f] = (uint64_t)rc;
        }
        e += (size_t)n;
    }
    *bad = nf;
    return (int64_t)e;
}

int64_t spk_cms_pack(const uint8_t *data, size_t datalen, const uint32_t *ends, uint64_t n, int var,
                     uint32_t lrecl, uint32_t blksize, uint8_t *out, size_t outcap,
                     uint32_t *disp, uint32_t *hirec, size_t nblk, spk_errinfo *err)
{
    uint64_t i, pos = 0, start = 0, need = 0;

    if ((n && (!data || !ends)) || !out)
        return spk_fail(err, SPK_EARG, -1, -1, "missing buffer");
    if (blksize < 512 || blksize > 4096)
        return spk_fail(err, SPK_EARG, -1, -1, "block size %u", blksize);
    for (i = 0; i < n; i++) {
        uint64_t len;
        if (ends[i] < start || ends[i] > datalen)
            return spk_fail(err, SPK_EARG, -1, (int64_t)i, "record %llu: bad end offset",
                            (unsigned long long)i + 1);
        len = ends[i] - start;
        if (!var && len != lrecl)
            return spk_fail(err, SPK_EARG, -1, (int64_t)i,
                            "record %llu has %llu bytes; an F %u file's records have %u",
                            (unsigned long long)i + 1, (unsigned long long)len, lrecl, lrecl);
        if (var && len == 0)
            return spk_fail(err, SPK_EARG, -1, (int64_t)i,
                            "record %llu is empty; a V record holds at least one byte",
                            (unsigned long long)i + 1);
        if (var && (len > lrecl || len > 0xFFFF))
            return spk_fail(err, SPK_EARG, -1, (int64_t)i,
                            "record %llu has %llu bytes, more than LRECL %u (at most 65535)",
                            (unsigned long long)i + 1, (unsigned long long)len, lrecl);
        need += len + (var ? 2 : 0);
        start = ends[i];
    }
    need = (need + blksize - 1) / blksize * blksize;
    if (need > outcap)
        return spk_fail(err, SPK_EBUFSIZE, -1, -1, "records need %llu bytes", (unsigned long long)need);
    if ((disp || hirec) && nblk < need / blksize)
        return spk_fail(err, SPK_EBUFSIZE, -1, -1, "per-block tables too small");
    if (disp)
        for (i = 0; i < need / blksize; i++)
            disp[i] = VAR_SPANNED;
    memset(out, 0, (size_t)need);
    start = 0;
    for (i = 0; i < n; i++) {
        uint64_t len = ends[i] - start;
        if (var) {
            uint64_t b = pos / blksize;
            if (disp && disp[b] == VAR_SPANNED)
                disp[b] = (uint32_t)(pos % blksize);
            out[pos] = (uint8_t)(len >> 8);
            out[pos + 1] = (uint8_t)len;
            pos += 2;
        }
        memcpy(out + pos, data + start, (size_t)len);
        if (hirec) {
            /* every block the header or data touches has seen record i + 1 */
            uint64_t b0 = (pos - (var ? 2 : 0)) / blksize, b1 = (pos + len - 1) / blksize, b;
            for (b = b0; b <= b1 && b < need / blksize; b++)
                hirec[b] = (uint32_t)(i + 1);
        }
        pos += len;
        start = ends[i];
    }
    return (int64_t)need;
}

/* ---- text ------------------------------------------------------------------- */

int64_t spk_cms_join(const uint8_t *data, size_t len, const uint32_t *ends, uint64_t n,
                     int strip, uint8_t blank, uint8_t sep, uint8_t *out, size_t outcap,
                     spk_errinfo *err)
{
    uint64_t i, start = 0;
    size_t pos = 0;

    if ((n && (!data || !ends)) || !out)
        return spk_fail(err, SPK_EARG, -1, -1, "missing buffer");
    for (i = 0; i < n; i++) {
        uint64_t end = ends[i];
        if (end < start || end > len)
            return spk_fail(err, SPK_EARG, -1, (int64_t)i, "bad end offset");
        if (strip)
            while (end > start && data[end - 1] == blank)
                end--;
        if (pos + (end - start) + 1 > outcap)
            return spk_fail(err, SPK_EBUFSIZE, -1, (int64_t)i, "text buffer too small");
        memcpy(out + pos, data + start, (size_t)(end - start));
        pos += (size_t)(end - start);
        out[pos++] = sep;
        start = ends[i];
    }
    return (int64_t)pos;
}

int64_t spk_cms_lines(const uint8_t *text, size_t len, uint8_t sep, uint8_t cr, int fixed,
                      uint32_t lrecl, uint8_t pad, uint8_t *out, size_t outcap, uint32_t *ends,
                      uint64_t maxrec, spk_errinfo *err)
{
    size_t pos = 0, total = 0;
    uint64_t n = 0;

    if ((len && !text) || !out || !ends)
        return spk_fail(err, SPK_EARG, -1, -1, "missing buffer");
    while (pos < len) {
        const uint8_t *nl = memchr(text + pos, sep, len - pos);
        size_t end = nl ? (size_t)(nl - text) : len, ln;
        size_t next = nl ? end + 1 : len;

        if (end > pos && text[end - 1] == cr)
            end--;                                   /* CRLF line ends */
        ln = end - pos;
        if (n >= maxrec)
            return spk_fail(err, SPK_EBUFSIZE, -1, (int64_t)n, "too many lines");
        if (fixed && ln > lrecl)
            return spk_fail(err, SPK_EARG, (int64_t)pos, (int64_t)n,
                            "line %llu has %zu characters, more than the LRECL %u",
                            (unsigned long long)n + 1, ln, lrecl);
        if (!fixed && ln == 0) {
            /* CMS keeps no empty V record: an empty line becomes one blank */
            if (total + 1 > outcap)
                return spk_fail(err, SPK_EBUFSIZE, -1, (int64_t)n, "record buffer too small");
            out[total++] = pad;
        } else {
            size_t room = fixed ? lrecl : ln;
            if (total + room > outcap || total + room > UINT32_MAX)
                return spk_fail(err, SPK_EBUFSIZE, -1, (int64_t)n, "record buffer too small");
            memcpy(out + total, text + pos, ln);
            if (fixed && ln < lrecl)
                memset(out + total + ln, pad, lrecl - ln);
            total += room;
        }
        ends[n++] = (uint32_t)total;
        pos = next;
    }
    return (int64_t)n;
}

/* ---- staging buffers of whole track groups --------------------------------- */

static int64_t find_group(const uint32_t *groups, size_t ng, uint32_t g)
{
    size_t lo = 0, hi = ng;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (groups[mid] < g)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < ng && groups[lo] == g ? (int64_t)lo : -1;
}

static int check_stage(const uint32_t *groups, size_t ng, uint32_t per_group, uint32_t blksize,
                       size_t slen, spk_errinfo *err)
{
    size_t i;
    if (per_group < 1 || blksize < 512 || blksize > 4096)
        return spk_fail(err, SPK_EARG, -1, -1, "bad staging geometry");
    if (slen / blksize / per_group < ng)
        return spk_fail(err, SPK_EARG, -1, -1, "staging buffer of %zu bytes for %zu groups", slen, ng);
    for (i = 1; i < ng; i++)
        if (groups[i] <= groups[i - 1])
            return spk_fail(err, SPK_EARG, -1, (int64_t)i, "groups not ascending");
    return 0;
}

int spk_cms_pick(const uint8_t *stage, size_t slen, const uint8_t *present, const uint32_t *groups,
                 size_t ng, uint32_t per_group, uint32_t blksize, const uint32_t *blocks, size_t n,
                 uint8_t *out, size_t outlen, spk_errinfo *err)
{
    size_t i;
    int rc;

    if (!stage || !present || (ng && !groups) || (n && (!blocks || !out)))
        return spk_fail(err, SPK_EARG, -1, -1, "missing buffer");
    if ((rc = check_stage(groups, ng, per_group, blksize, slen, err)) < 0)
        return rc;
    if (outlen / blksize < n)
        return spk_fail(err, SPK_EBUFSIZE, -1, -1, "output for %zu blocks too small", n);
    for (i = 0; i < n; i++) {
        uint32_t b = blocks[i];
        int64_t slot;
        size_t k;

        if (b == 0) {
            memset(out + i * blksize, 0, blksize);
            continue;
        }
        slot = find_group(groups, ng, (b - 1) / per_group);
        if (slot < 0)
            return spk_fail(err, SPK_EARG, -1, (int64_t)i, "block %u is not staged", b);
        k = (size_t)slot * per_group + (b - 1) % per_group;
        if (!present[k])
            return spk_fail(err, SPK_ENOTFOUND, -1, (int64_t)b,
                            "block %u is not on the disk: its track has no record %u "
                            "(the track is not formatted for CMS)", b, (b - 1) % per_group + 1);
        memcpy(out + i * blksize, stage + k * blksize, blksize);
    }
    return (int)n;
}

int spk_cms_place(uint8_t *stage, size_t slen, uint8_t *dirty, const uint32_t *groups, size_t ng,
                  uint32_t per_group, uint32_t blksize, const uint32_t *blocks, size_t n,
                  const uint8_t *data, size_t datalen, spk_errinfo *err)
{
    size_t i;
    int rc;

    if (!stage || !dirty || (ng && !groups) || (n && (!blocks || !data)))
        return spk_fail(err, SPK_EARG, -1, -1, "missing buffer");
    if ((rc = check_stage(groups, ng, per_group, blksize, slen, err)) < 0)
        return rc;
    if (datalen / blksize < n)
        return spk_fail(err, SPK_EARG, -1, -1, "%zu bytes for %zu blocks", datalen, n);
    for (i = 0; i < n; i++) {
        uint32_t b = blocks[i];
        int64_t slot;
        size_t k;

        if (b == 0)
            return spk_fail(err, SPK_EARG, -1, (int64_t)i, "block 0 cannot be written");
        slot = find_group(groups, ng, (b - 1) / per_group);
        if (slot < 0)
            return spk_fail(err, SPK_EARG, -1, (int64_t)i, "block %u is not staged", b);
        k = (size_t)slot * per_group + (b - 1) % per_group;
        memcpy(stage + k * blksize, data + i * blksize, blksize);
        dirty[k] = 1;
    }
    return (int)n;
}

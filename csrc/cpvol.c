/* cpvol.c - VM/370 page-formatted tracks: build them, and tell whether a track
 * is one.  The layouts (which records a FORMAT pass writes on which track of
 * a group) come from spoolkit/cp/pagelayout.py; this file only applies them. */
#include "internal.h"

/* most records one group of a layout may hold (the 2314's has 12) */
#define MAX_SLOTS 64

static int check_layout(const spk_cp_layout *lay, spk_errinfo *err)
{
    uint32_t i;

    if (!lay || !lay->slots)
        return spk_fail(err, SPK_EARG, -1, -1, "no page layout");
    if (lay->group_heads < 1 || lay->group_heads > 255)
        return spk_fail(err, SPK_EARG, -1, -1, "layout group of %u tracks", lay->group_heads);
    if (lay->nslots < 1 || lay->nslots > MAX_SLOTS)
        return spk_fail(err, SPK_EARG, -1, -1, "layout of %u records per group (1 to %d)",
                        lay->nslots, MAX_SLOTS);
    if (lay->group_step > 255)
        return spk_fail(err, SPK_EARG, -1, -1, "layout record step %u", lay->group_step);
    for (i = 0; i < lay->nslots; i++) {
        const spk_cp_slot *s = &lay->slots[i];

        if (s->head >= lay->group_heads || (i && s->head < lay->slots[i - 1].head))
            return spk_fail(err, SPK_EARG, -1, i, "layout record %u: track %u of a group of %u "
                            "(tracks must ascend)", i + 1, s->head, lay->group_heads);
        if (s->rec == 0)
            return spk_fail(err, SPK_EARG, -1, i, "layout record %u: record number 0", i + 1);
    }
    return SPK_OK;
}

/* The records of track `head` of a cylinder under `lay`: fills recs (room
 * for MAX_SLOTS) and returns their number, or an error when a record number
 * would pass 255 (the head is beyond what the layout can number). */
static int track_records(uint32_t cyl, uint32_t head, const spk_cp_layout *lay,
                         spk_recspec *recs, spk_errinfo *err)
{
    uint32_t group = head / lay->group_heads, in_group = head % lay->group_heads, i;
    int n = 0;

    for (i = 0; i < lay->nslots; i++) {
        const spk_cp_slot *s = &lay->slots[i];
        uint32_t r;

        if (s->head != in_group)
            continue;
        r = s->rec + group * lay->group_step;
        if (r > 255)
            return spk_fail(err, SPK_ERANGE, -1, head, "head %u: record number %u passes 255 "
                            "in this page layout", head, r);
        memset(&recs[n], 0, sizeof recs[n]);
        recs[n].cyl = (uint16_t)cyl;
        recs[n].head = (uint16_t)head;
        recs[n].rec = (uint8_t)r;
        recs[n].dl = s->dl;
        recs[n].overflow = s->overflow ? 1 : 0;
        n++;
    }
    return n;
}

/* The layout checked, then the records of (cyl, head) as track_records gives them. */
static int layout_records(uint32_t cyl, uint32_t head, const spk_cp_layout *lay,
                          spk_recspec *recs, spk_errinfo *err)
{
    int rc = check_layout(lay, err);

    if (rc < 0)
        return rc;
    if (cyl > 0x7fff || head > 0xffff)      /* CC's high bit is the overflow flag */
        return spk_fail(err, SPK_EARG, -1, -1, "cylinder %u head %u out of range", cyl, head);
    return track_records(cyl, head, lay, recs, err);
}

int spk_cp_page_track(uint8_t *out, size_t outlen, uint32_t cyl, uint32_t head,
                      const spk_cp_layout *lay, const uint8_t *r0data, spk_errinfo *err)
{
    spk_recspec recs[MAX_SLOTS];
    int n = layout_records(cyl, head, lay, recs, err);

    if (n < 0)
        return n;
    return spk_track_build(out, outlen, cyl, head, r0data, recs, (size_t)n, err);
}

int spk_cp_page_check(const uint8_t *buf, size_t len, uint32_t cyl, uint32_t head,
                      const spk_cp_layout *lay, spk_errinfo *err)
{
    spk_recspec want[MAX_SLOTS];
    spk_record got[MAX_SLOTS + 2];
    spk_track_info info;
    int n = layout_records(cyl, head, lay, want, err), rc, i;

    if (n < 0)
        return n;
    rc = spk_track_parse(buf, len, cyl, head, SPK_TRK_OVERFLOW, got, MAX_SLOTS + 2, &info, err);
    if (rc == SPK_EBUFSIZE)
        return 0;                          /* more records than any page track has */
    if (rc < 0)
        return rc;
    if (info.nrecs != (uint32_t)n)
        return 0;
    for (i = 0; i < n; i++) {
        const spk_record *g = &got[i + 1];   /* got[0] is R0 */

        if (g->cyl != want[i].cyl || g->head != want[i].head || g->rec != want[i].rec
                || g->kl != 0 || g->dl != want[i].dl
                || ((g->flags & SPK_REC_OVERFLOW) != 0) != (want[i].overflow != 0))
            return 0;
    }
    return 1;
}

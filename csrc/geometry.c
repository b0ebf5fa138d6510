/* geometry.c - CKD/FBA device table and the real track-capacity formulas.
 *
 * The rows carry the same device constants Hercules uses (dasdtab.c), so
 * lookups pick the same model for a given size and capacities agree with
 * Hercules' capacity_calc to the byte. */
#include <string.h>

#include "internal.h"

#define ROW(nm, dt, mdl, cd, cy, alt, hd, r0, r1, har0, len, sec, fo, a, b, c, d, e, f, cu) \
    { nm, dt, mdl, cd, cy, alt, hd, r0, r1, har0, len, sec, fo, a, b, c, d, e, f, cu }

/* name, devt, model, code, cyls, alt, heads, r0, r1, har0, len, sectors, formula, f1..f6, cu */
#define D2305_1(n) ROW(n, 0x2305, 0x00, 0x00, 48, 6, 8, 14568, 14136, 432, 14568, 90, -1, 202, 432, 0, 0, 0, 0, "2835")
#define D2305_2(n, cy, alt) ROW(n, 0x2305, 0x02, 0x00, cy, alt, 8, 14858, 14660, 198, 14858, 90, -1, 91, 198, 0, 0, 0, 0, "2835")
#define D2311(n, cy, alt) ROW(n, 0x2311, 0x00, 0x00, cy, alt, 10, 0, 3625, 0, 3625, 0, -2, 20, 61, 537, 512, 0, 0, "2841")
#define D2314(n, cy, alt) ROW(n, 0x2314, 0x00, 0x00, cy, alt, 20, 0, 7294, 0, 7294, 0, -2, 45, 101, 2137, 2048, 0, 0, "2314")
#define D3330(n, m, cy, alt) ROW(n, 0x3330, m, 0x00, cy, alt, 19, 13165, 13030, 135, 13165, 128, -1, 56, 135, 0, 0, 0, 0, "3830")
#define D3340(n, m, cy, alt) ROW(n, 0x3340, m, 0x00, cy, alt, 12, 8535, 8368, 167, 8535, 64, -1, 75, 167, 0, 0, 0, 0, "3830")
#define D3350(n, cy, alt) ROW(n, 0x3350, 0x00, 0x00, cy, alt, 30, 19254, 19069, 185, 19254, 128, -1, 82, 185, 0, 0, 0, 0, "3830")
#define D3375(n, cy, alt) ROW(n, 0x3375, 0x02, 0x0e, cy, alt, 12, 36000, 35616, 832, 36000, 196, 1, 32, 384, 160, 0, 0, 0, "3880")
#define D3380(n, m, cy, alt) ROW(n, 0x3380, m, 0x0e, cy, alt, 15, 47988, 47476, 1088, 47968, 222, 1, 32, 492, 236, 0, 0, 0, "3880")
#define D3390(n, m, cd, cy, alt) ROW(n, 0x3390, m, cd, cy, alt, 15, 57326, 56664, 1428, 58786, 224, 2, 34, 19, 9, 6, 116, 6, "3990")
#define D9345(n, cy) ROW(n, 0x9345, 0x04, 0x04, cy, 0, 15, 48174, 46456, 1184, 48280, 213, 2, 34, 18, 7, 6, 116, 6, "9343")

static const spk_ckddev ckdtab[] = {
    D2305_1("2305"), D2305_1("2305-1"), D2305_2("2305-2", 96, 12), D2305_2("2305-x", 65535, 0),
    D2311("2311", 200, 3), D2311("2311-1", 200, 3), D2311("2311-x", 65535, 0),
    D2314("2314", 200, 3), D2314("2314-1", 200, 3), D2314("2314-x", 65535, 0),
    D3330("3330", 0x01, 404, 7), D3330("3330-1", 0x01, 404, 7), D3330("3330-2", 0x11, 808, 7),
    D3330("3330-11", 0x11, 808, 7), D3330("3330-x", 0x11, 65535, 0),
    D3340("3340", 0x01, 348, 1), D3340("3340-1", 0x01, 348, 1), D3340("3340-35", 0x01, 348, 1),
    D3340("3340-2", 0x02, 696, 2), D3340("3340-70", 0x02, 696, 2), D3340("3340-x", 0x02, 65535, 0),
    D3350("3350", 555, 5), D3350("3350-1", 555, 5), D3350("3350-x", 65535, 0),
    D3375("3375", 959, 3), D3375("3375-1", 959, 3), D3375("3375-x", 65535, 0),
    D3380("3380", 0x02, 885, 1), D3380("3380-1", 0x02, 885, 1), D3380("3380-A", 0x02, 885, 1),
    D3380("3380-B", 0x02, 885, 1), D3380("3380-D", 0x06, 885, 1), D3380("3380-J", 0x16, 885, 1),
    D3380("3380-2", 0x0a, 1770, 2), D3380("3380-E", 0x0a, 1770, 2), D3380("3380-3", 0x1e, 2655, 3),
    D3380("3380-K", 0x1e, 2655, 3), D3380("EMC3380K+", 0x1e, 3339, 3),
    D3380("EMC3380K++", 0x1e, 3993, 3), D3380("3380-x", 0x1e, 65535, 0),
    D3390("3390", 0x02, 0x26, 1113, 1), D3390("3390-1", 0x02, 0x26, 1113, 1),
    D3390("3390-2", 0x06, 0x27, 2226, 1), D3390("3390-3", 0x0a, 0x24, 3339, 1),
    D3390("3390-9", 0x0c, 0x32, 10017, 3), D3390("3390-27", 0x0c, 0x32, 32760, 3),
    D3390("3390-J", 0x0c, 0x32, 32760, 3), D3390("3390-54", 0x0c, 0x32, 65520, 3),
    D3390("3390-JJ", 0x0c, 0x32, 65520, 3), D3390("3390-x", 0x0c, 0x32, 65535, 0),
    D9345("9345", 1440), D9345("9345-1", 1440), D9345("9345-2", 2156), D9345("9345-x", 65535),
};

#define F(n, dt, cl, ty, md, bpg, bpp, bl, cu) { n, dt, cl, ty, md, bpg, bpp, 512, bl, cu }
static const spk_fbadev fbatab[] = {
    F("3310", 0x3310, 0x21, 0x01, 0x01, 32, 352, 125664, 0x4331),
    F("3310-1", 0x3310, 0x21, 0x01, 0x01, 32, 352, 125664, 0x4331),
    F("3310-x", 0x3310, 0x21, 0x01, 0x01, 32, 352, 0, 0x4331),
    F("3370", 0x3370, 0x21, 0x02, 0x00, 62, 744, 558000, 0x3880),
    F("3370-1", 0x3370, 0x21, 0x02, 0x00, 62, 744, 558000, 0x3880),
    F("3370-A1", 0x3370, 0x21, 0x02, 0x00, 62, 744, 558000, 0x3880),
    F("3370-B1", 0x3370, 0x21, 0x02, 0x00, 62, 744, 558000, 0x3880),
    F("3370-2", 0x3370, 0x21, 0x05, 0x04, 62, 744, 712752, 0x3880),
    F("3370-A2", 0x3370, 0x21, 0x05, 0x04, 62, 744, 712752, 0x3880),
    F("3370-B2", 0x3370, 0x21, 0x05, 0x04, 62, 744, 712752, 0x3880),
    F("3370-x", 0x3370, 0x21, 0x05, 0x04, 62, 744, 0, 0x3880),
    F("9313", 0x9313, 0x21, 0x08, 0x00, 96, 480, 246240, 0x6310),
    F("9313-1", 0x9313, 0x21, 0x08, 0x00, 96, 480, 246240, 0x6310),
    F("9313-x", 0x9313, 0x21, 0x08, 0x00, 96, 480, 0, 0x6310),
    F("9332", 0x9332, 0x21, 0x07, 0x00, 73, 292, 360036, 0x6310),
    F("9332-1", 0x9332, 0x21, 0x07, 0x00, 73, 292, 360036, 0x6310),
    F("9332-200", 0x9332, 0x21, 0x07, 0x00, 73, 292, 360036, 0x6310),
    F("9332-400", 0x9332, 0x21, 0x07, 0x00, 73, 292, 360036, 0x6310),
    F("9332-600", 0x9332, 0x21, 0x07, 0x01, 73, 292, 554800, 0x6310),
    F("9332-x", 0x9332, 0x21, 0x07, 0x01, 73, 292, 0, 0x6310),
    F("9335", 0x9335, 0x21, 0x06, 0x01, 71, 426, 804714, 0x6310),
    F("9335-1", 0x9335, 0x21, 0x06, 0x01, 71, 426, 804714, 0x6310),
    F("9335-x", 0x9335, 0x21, 0x06, 0x01, 71, 426, 0, 0x6310),
    F("9336", 0x9336, 0x21, 0x11, 0x00, 63, 315, 920115, 0x6310),
    F("9336-1", 0x9336, 0x21, 0x11, 0x00, 63, 315, 920115, 0x6310),
    F("9336-10", 0x9336, 0x21, 0x11, 0x00, 63, 315, 920115, 0x6310),
    F("9336-20", 0x9336, 0x21, 0x11, 0x10, 111, 777, 1672881, 0x6310),
    F("9336-25", 0x9336, 0x21, 0x11, 0x10, 111, 777, 1672881, 0x6310),
    F("9336-x", 0x9336, 0x21, 0x11, 0x10, 111, 777, 0, 0x6310),
    F("0671", 0x0671, 0x21, 0x12, 0x00, 63, 504, 574560, 0x6310),
    F("0671-1", 0x0671, 0x21, 0x12, 0x00, 63, 504, 574560, 0x6310),
    F("0671-04", 0x0671, 0x21, 0x12, 0x04, 63, 504, 624456, 0x6310),
    F("0671-08", 0x0671, 0x21, 0x12, 0x08, 63, 504, 513072, 0x6310),
    F("0671-x", 0x0671, 0x21, 0x12, 0x04, 63, 504, 0, 0x6310),
};

#define NCKD (sizeof ckdtab / sizeof ckdtab[0])
#define NFBA (sizeof fbatab / sizeof fbatab[0])

size_t spk_geom_ckd_count(void) { return NCKD; }
const spk_ckddev *spk_geom_ckd_get(size_t i) { return i < NCKD ? &ckdtab[i] : NULL; }
size_t spk_geom_fba_count(void) { return NFBA; }
const spk_fbadev *spk_geom_fba_get(size_t i) { return i < NFBA ? &fbatab[i] : NULL; }

const spk_ckddev *spk_geom_ckd_lookup(const char *name, uint32_t devt, uint32_t size)
{
    for (size_t i = 0; i < NCKD; i++) {
        const spk_ckddev *d = &ckdtab[i];
        if (name) {
            if (strcmp(name, d->name) == 0)
                return d;
        } else if ((devt == d->devt || devt == (uint32_t)(d->devt & 0xff))
                   && size <= d->cyls + d->altcyls) {
            return d;
        }
    }
    return NULL;
}

const spk_fbadev *spk_geom_fba_lookup(const char *name, uint32_t devt, uint32_t size)
{
    for (size_t i = 0; i < NFBA; i++) {
        const spk_fbadev *d = &fbatab[i];
        if (name) {
            if (strcmp(name, d->name) == 0)
                return d;
        } else if ((devt == d->devt || devt == (uint32_t)(d->devt & 0xff))
                   && (size <= d->blocks || d->blocks == 0)) {
            return d;
        }
    }
    return NULL;
}

uint32_t spk_geom_trksize(const spk_ckddev *dev)
{
    /* HA + R0 count + R0 data + R1 count + R1 data + EOT, rounded to 512 */
    uint32_t raw = 5 + 8 + 8 + 8 + dev->r1 + 8;
    return (raw + 511) & ~511u;
}

static int32_t roundup(int32_t v, int32_t m) { return ((v + m - 1) / m) * m; }

int spk_geom_capacity(const spk_ckddev *dev, int32_t used, int32_t kl, int32_t dl,
                      spk_capacity *out)
{
    int32_t b1, b2, nrecs;
    int32_t len = (int32_t)dev->len;

    memset(out, 0, sizeof *out);
    if (kl < 0 || kl > 255 || dl < 0 || dl > 65535 || used < 0)
        return SPK_EARG;
    switch (dev->formula) {
    case -2: { /* 2311, 2314: the last record on a track needs no gap */
        int32_t c = dev->f1, x = dev->f2, d1 = dev->f3, d2 = dev->f4;
        b1 = kl + dl + (kl ? c : 0);
        b2 = (kl + dl) * d1 / d2 + (kl ? c : 0) + x;
        nrecs = (len - b1) / b2 + 1;
        out->kbconst = c + x; out->lbconst = c; out->nkconst = c;
        out->tolfact = d1 / (d2 / 512);
        out->devflag = 0x01;
        break;
    }
    case -1: { /* 2305, 3330, 3340, 3350 */
        int32_t c = dev->f1, x = dev->f2;
        b1 = b2 = kl + dl + (kl ? c : 0) + x;
        nrecs = len / b2;
        out->kbconst = c + x; out->lbconst = c + x; out->nkconst = c;
        out->tolfact = 512;
        out->devflag = 0x01;
        break;
    }
    case 1: { /* 3375, 3380 */
        int32_t f1 = dev->f1;
        int32_t fl1 = roundup(dl + dev->f2, f1);
        int32_t fl2 = kl ? roundup(kl + dev->f3, f1) : 0;
        b1 = b2 = fl1 + fl2;
        nrecs = len / b2;
        out->devflag = 0x30;
        break;
    }
    case 2: { /* 3390, 9345 */
        int32_t f1 = dev->f1, f4 = dev->f4, f5 = dev->f5, f6 = dev->f6;
        int32_t int1 = ((dl + f6) + (2 * f5 - 1)) / (2 * f5);
        int32_t int2 = ((kl + f6) + (2 * f5 - 1)) / (2 * f5);
        int32_t fl1 = roundup(f1 * dev->f2 + dl + f6 + f4 * int1, f1);
        int32_t fl2 = kl ? roundup(f1 * dev->f3 + kl + f6 + f4 * int2, f1) : 0;
        b1 = b2 = fl1 + fl2;
        nrecs = len / b2;
        out->devflag = 0x30;
        break;
    }
    default:
        return SPK_EUNSUPPORTED;
    }
    out->b1 = b1;
    out->b2 = b2;
    out->nrecs = nrecs;
    out->physlen = len;
    out->maxdlen = (int32_t)dev->r1;
    /* used > len: nothing more fits (and used + b1 cannot overflow below) */
    out->fits = used <= len && used + b1 <= len;
    if (out->fits) {
        out->newused = used + b2;
        out->balance = used + b2 > len ? 0 : len - used - b2;
    }
    return SPK_OK;
}

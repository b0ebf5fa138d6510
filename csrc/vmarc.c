/*
 * vmarc.c - the member streams of VMARC archives: LZW, S2 and STORE
 * (docs/formats.md "VMARC").
 *
 * A member's stream follows its 38-byte header.  Every method works on
 * symbols: 1..256 are the bytes 00..FF, 0 ends a record of a V file and,
 * for an F file or after an empty V record, the file itself.  LZW and S2
 * send 12-bit codes, packed big-endian (two codes in three bytes); STORE
 * sends each record as a 2-byte length and the bytes, a length of 0 ending
 * the file.
 *
 * LZW: codes 0..256 are the symbols; a new string <code, next symbol> goes
 * into the first entry with no reference after the last entry made
 * (257..4095, wrapping), so a full table recycles strings nothing builds on.
 * S2 (Miller-Wegman): each new string is the concatenation of the last two
 * codes' strings (at most 2049 symbols) and goes into the first
 * unreferenced entry the same way.  Decoders repeat the encoder's table
 * steps exactly; only the encoders' string search is free, and ours follow
 * VMARC's so that the same codes come out.
 */
#include <stdlib.h>
#include <string.h>

#include "spoolkit.h"
#include "internal.h"

#define NCODES 4096
#define NATOM 257          /* symbols 0..256 */
#define S2MAXLEN 2049      /* VMARC refuses longer S2 strings */

/* ---- symbols out: records ------------------------------------------------ */

typedef struct {
    uint8_t *out;          /* NULL: count only */
    size_t outcap;
    uint32_t *ends;        /* NULL: count only */
    uint64_t maxrec;
    uint64_t datalen;
    uint64_t nrec;
    uint32_t cur;          /* bytes in the record being built */
    uint32_t lrecl;
    int fixed;
    int64_t at;            /* offset of the code being decoded (for errors) */
    spk_errinfo *err;
} sink;

static int close_record(sink *s)
{
    if (s->ends) {
        if (s->nrec >= s->maxrec)
            return spk_fail(s->err, SPK_EBUFSIZE, s->at, (int64_t)s->nrec,
                            "more records than the output holds");
        if (s->datalen > UINT32_MAX)
            return spk_fail(s->err, SPK_EFORMAT, s->at, (int64_t)s->nrec,
                            "member holds more than 4 GiB");
        s->ends[s->nrec] = (uint32_t)s->datalen;
    }
    s->nrec++;
    s->cur = 0;
    return 0;
}

/* 0: taken, 1: the end of the file, < 0: error */
static inline int put_sym(sink *s, unsigned sym)
{
    if (sym == 0) {
        if (s->fixed) {
            if (s->cur)
                return spk_fail(s->err, SPK_EFORMAT, s->at, (int64_t)s->nrec,
                                "F member ends inside record %llu (%u of LRECL %u bytes)",
                                (unsigned long long)s->nrec + 1, s->cur, s->lrecl);
            return 1;
        }
        return s->cur ? close_record(s) : 1;
    }
    if (s->cur >= s->lrecl)
        return spk_fail(s->err, SPK_EFORMAT, s->at, (int64_t)s->nrec,
                        "record %llu is longer than the LRECL %u of the header",
                        (unsigned long long)s->nrec + 1, s->lrecl);
    if (s->out) {
        if (s->datalen >= s->outcap)
            return spk_fail(s->err, SPK_EBUFSIZE, s->at, (int64_t)s->nrec,
                            "more data than the output holds");
        s->out[s->datalen] = (uint8_t)(sym - 1);
    }
    s->datalen++;
    s->cur++;
    if (s->fixed && s->cur == s->lrecl)
        return close_record(s);
    return 0;
}

/* ---- 12-bit codes in --------------------------------------------------- */

typedef struct {
    const uint8_t *buf;
    size_t len;
    size_t pos;            /* next byte not yet (fully) read */
    int half;              /* the low half of buf[pos-1] is the next code's start */
} codes_in;

/* the next code, or -1 when the data ends; *at gets its first byte's offset */
static inline int get_code(codes_in *c, int64_t *at)
{
    int v;
    if (!c->half) {
        if (c->len - c->pos < 2)
            return -1;
        *at = (int64_t)c->pos;
        v = (c->buf[c->pos] << 4) | (c->buf[c->pos + 1] >> 4);
        c->pos += 2;
        c->half = 1;
    } else {
        if (c->pos >= c->len)
            return -1;
        *at = (int64_t)c->pos - 1;
        v = ((c->buf[c->pos - 1] & 0x0F) << 8) | c->buf[c->pos];
        c->pos += 1;
        c->half = 0;
    }
    return v;
}

static int truncated(spk_errinfo *err, const codes_in *c)
{
    return spk_fail(err, SPK_ETRUNC, (int64_t)c->len, -1,
                    "the member ends before its end code");
}

/* ---- 12-bit codes out -------------------------------------------------- */

typedef struct {
    uint8_t *out;
    size_t cap;
    size_t pos;
    int half;
    int overflow;
} codes_out;

static inline void put_code(codes_out *o, unsigned v)
{
    if (!o->half) {
        if (o->cap - o->pos < 2) { o->overflow = 1; return; }
        o->out[o->pos] = (uint8_t)(v >> 4);
        o->out[o->pos + 1] = (uint8_t)((v & 0x0F) << 4);
        o->pos += 1;
        o->half = 1;
    } else {
        if (o->cap - o->pos < 2) { o->overflow = 1; return; }
        o->out[o->pos] |= (uint8_t)(v >> 8);
        o->out[o->pos + 1] = (uint8_t)v;
        o->pos += 2;
        o->half = 0;
    }
}

/* bytes used, the last half byte included */
static size_t codes_end(const codes_out *o) { return o->pos + (o->half ? 1 : 0); }

/* ---- symbols of a file in ---------------------------------------------- */

/* The file as symbols (V: a 0 after each record) in a new array; *n gets
 * their count.  F records must be LRECL long, V records 1..65535. */
static int make_symbols(const uint8_t *data, size_t datalen, const uint32_t *ends, uint64_t n,
                        int fixed, uint32_t lrecl, uint16_t **symp, size_t *nsym,
                        spk_errinfo *err)
{
    uint64_t total = datalen + (fixed ? 0 : n);
    uint16_t *sym;
    size_t k = 0;
    uint32_t start = 0;
    if (n && ends[n - 1] != datalen)
        return spk_fail(err, SPK_EARG, -1, -1, "record ends do not cover the data");
    if (total > SIZE_MAX / sizeof *sym - 1)
        return spk_fail(err, SPK_EARG, -1, -1, "file too large");
    sym = malloc((size_t)(total ? total : 1) * sizeof *sym);
    if (!sym)
        return spk_fail(err, SPK_ENOMEM, -1, -1, "out of memory for %llu symbols",
                        (unsigned long long)total);
    for (uint64_t r = 0; r < n; r++) {
        uint32_t end = ends[r];
        uint32_t len = end - start;
        if (end < start || end > datalen) {
            free(sym);
            return spk_fail(err, SPK_EARG, -1, (int64_t)r, "record ends are not ascending");
        }
        if (fixed ? len != lrecl : (len == 0 || len > 65535)) {
            free(sym);
            if (fixed)
                return spk_fail(err, SPK_EARG, -1, (int64_t)r,
                                "F record %llu is %u bytes, not the LRECL %u",
                                (unsigned long long)r + 1, len, lrecl);
            return spk_fail(err, SPK_EARG, -1, (int64_t)r,
                            len ? "V record %llu is %u bytes (at most 65535)"
                                : "V record %llu is empty: a VMARC stream cannot hold one",
                            (unsigned long long)r + 1, len);
        }
        for (uint32_t i = start; i < end; i++)
            sym[k++] = (uint16_t)(data[i] + 1);
        if (!fixed)
            sym[k++] = 0;
        start = end;
    }
    *symp = sym;
    *nsym = k;
    return 0;
}

/* ==== LZW ================================================================ */

typedef struct {
    int16_t pred[NCODES];    /* -1: a symbol (no prefix), -2: unused */
    uint16_t ch[NCODES];     /* last symbol */
    uint16_t len[NCODES];    /* symbols in the string */
    uint16_t first[NCODES];  /* first symbol */
    uint32_t ref[NCODES];    /* strings built on this one (+1 for symbols) */
    uint64_t zero[NCODES / 64]; /* bit i: entry i (>= 257) has ref 0 */
    int last;                /* last entry made */
} lzw_table;

static inline void lzw_ref_up(lzw_table *t, int i)
{
    if (t->ref[i]++ == 0)
        t->zero[i >> 6] &= ~(UINT64_C(1) << (i & 63));
}

static inline void lzw_ref_down(lzw_table *t, int i)
{
    if (--t->ref[i] == 0 && i >= NATOM)
        t->zero[i >> 6] |= UINT64_C(1) << (i & 63);
}

static void lzw_init(lzw_table *t)
{
    for (int i = 0; i < NCODES; i++) {
        t->pred[i] = i < NATOM ? -1 : -2;
        t->ch[i] = (uint16_t)(i < NATOM ? i : 0);
        t->len[i] = 1;
        t->first[i] = (uint16_t)(i < NATOM ? i : 0);
        t->ref[i] = i < NATOM ? 1 : 0;
    }
    memset(t->zero, 0, sizeof t->zero);
    for (int i = NATOM; i < NCODES; i++)
        t->zero[i >> 6] |= UINT64_C(1) << (i & 63);
    t->last = NATOM - 1;
}

/* VMARC's choice of the entry for a new string: the first unreferenced one
 * after the last made, then from 257 on; -1 when every entry is referenced. */
static int zero_from(const lzw_table *t, int i)
{
    while (i < NCODES) {
        uint64_t w = t->zero[i >> 6] & (~UINT64_C(0) << (i & 63));
        if (w)
            return (i & ~63) + __builtin_ctzll(w);
        i = (i & ~63) + 64;
    }
    return -1;
}

static int lzw_victim(const lzw_table *t)
{
    int i = zero_from(t, t->last + 1);
    return i >= 0 ? i : zero_from(t, NATOM);
}

static int64_t lzw_decode(codes_in *c, sink *s)
{
    lzw_table *t = malloc(sizeof *t);
    uint16_t stack[NCODES + 1];
    int pending = -1, prev = -1;
    int64_t rc = 0;
    if (!t)
        return spk_fail(s->err, SPK_ENOMEM, -1, -1, "out of memory");
    lzw_init(t);
    for (;;) {
        int v = get_code(c, &s->at);
        unsigned n;
        int k;
        if (v < 0) { rc = truncated(s->err, c); break; }
        if (t->pred[v] == -2 && v != pending) {
            rc = spk_fail(s->err, SPK_ECOMPRESS, s->at, -1, "LZW code %d is not defined", v);
            break;
        }
        if (pending >= 0)
            t->ch[pending] = v == pending ? t->first[prev] : t->first[v];
        n = t->len[v];
        if (n > NCODES) {                    /* chains are acyclic: cannot happen */
            rc = spk_fail(s->err, SPK_ECOMPRESS, s->at, -1, "LZW table broken at code %d", v);
            break;
        }
        k = v;
        for (unsigned i = n; i-- > 0;) {
            if (k < 0) {
                rc = spk_fail(s->err, SPK_ECOMPRESS, s->at, -1, "LZW table broken at code %d", v);
                goto done;
            }
            stack[i] = t->ch[k];
            k = t->pred[k];
        }
        for (unsigned i = 0; i < n; i++) {
            int r = put_sym(s, stack[i]);
            if (r == 1 && i + 1 < n)
                r = spk_fail(s->err, SPK_ECOMPRESS, s->at, (int64_t)s->nrec,
                             "LZW code %d goes on past the end of the file", v);
            if (r) { rc = r; goto done; }
        }
        /* the string the next code completes: <v, its first symbol> */
        lzw_ref_up(t, v);
        k = lzw_victim(t);
        if (k < 0) {
            lzw_ref_down(t, v);
            pending = -1;
        } else {
            if (t->pred[k] >= 0)
                lzw_ref_down(t, t->pred[k]);
            t->pred[k] = (int16_t)v;
            t->len[k] = (uint16_t)(t->len[v] + 1);
            t->first[k] = t->first[v];
            t->ch[k] = 0;
            t->last = k;
            pending = k;
        }
        prev = v;
    }
done:
    free(t);
    return rc < 0 ? rc : 0;
}

/* the encoder's string lookup: <prefix, symbol> -> entry, chained per bucket */
#define LZW_HASH 8192

typedef struct {
    lzw_table t;
    int16_t head[LZW_HASH];
    int16_t next[NCODES];
    int16_t prevh[NCODES];
} lzw_enc;

static inline unsigned lzw_bucket(int pred, unsigned ch)
{
    return ((unsigned)pred * 263u + ch * 7919u) & (LZW_HASH - 1);
}

static int lzw_find(const lzw_enc *e, int pred, unsigned ch)
{
    for (int i = e->head[lzw_bucket(pred, ch)]; i >= 0; i = e->next[i])
        if (e->t.pred[i] == pred && e->t.ch[i] == ch)
            return i;
    return -1;
}

static void lzw_unhash(lzw_enc *e, int i)
{
    unsigned b = lzw_bucket(e->t.pred[i], e->t.ch[i]);
    if (e->prevh[i] >= 0)
        e->next[e->prevh[i]] = e->next[i];
    else
        e->head[b] = e->next[i];
    if (e->next[i] >= 0)
        e->prevh[e->next[i]] = e->prevh[i];
}

static void lzw_hash(lzw_enc *e, int i)
{
    unsigned b = lzw_bucket(e->t.pred[i], e->t.ch[i]);
    e->next[i] = e->head[b];
    e->prevh[i] = -1;
    if (e->head[b] >= 0)
        e->prevh[e->head[b]] = (int16_t)i;
    e->head[b] = (int16_t)i;
}

static int lzw_encode(const uint16_t *sym, size_t nsym, codes_out *o, spk_errinfo *err)
{
    lzw_enc *e = malloc(sizeof *e);
    int cur = -1;
    if (!e)
        return spk_fail(err, SPK_ENOMEM, -1, -1, "out of memory");
    lzw_init(&e->t);
    memset(e->head, 0xFF, sizeof e->head);
    for (size_t p = 0; p < nsym; p++) {
        unsigned ch = sym[p];
        int f, k;
        if (cur < 0) { cur = (int)ch; continue; }
        f = lzw_find(e, cur, ch);
        if (f >= 0) { cur = f; continue; }
        lzw_ref_up(&e->t, cur);
        k = lzw_victim(&e->t);
        if (k < 0) {
            lzw_ref_down(&e->t, cur);
        } else {
            if (e->t.pred[k] >= 0) {
                lzw_unhash(e, k);
                lzw_ref_down(&e->t, e->t.pred[k]);
            }
            e->t.pred[k] = (int16_t)cur;
            e->t.ch[k] = (uint16_t)ch;
            lzw_hash(e, k);
            e->t.last = k;
        }
        put_code(o, (unsigned)cur);
        cur = (int)ch;
    }
    if (cur >= 0)
        put_code(o, (unsigned)cur);
    put_code(o, 0);
    free(e);
    return 0;
}

/* ==== S2 ================================================================= */

typedef struct {
    int16_t left[NCODES];    /* -1: a symbol */
    int16_t right[NCODES];
    uint16_t len[NCODES];
    uint32_t count[NCODES];  /* strings built on this one (+1 for symbols) */
    int16_t sib[NCODES];     /* next string with the same left part (oldest first) */
    int16_t offsp[NCODES];   /* first string with this one as its left part */
    int last;
} s2_table;

static void s2_init(s2_table *t)
{
    for (int i = 0; i < NCODES; i++) {
        t->left[i] = -1;
        t->right[i] = -1;
        t->len[i] = (uint16_t)(i < NATOM ? 1 : 0);
        t->count[i] = i < NATOM ? 1 : 0;
        t->sib[i] = -1;
        t->offsp[i] = -1;
    }
    t->last = NCODES;        /* the first search wraps to 257 */
}

static inline int s2_defined(const s2_table *t, int v) { return v < NATOM || t->left[v] >= 0; }

/* Add <l, r> as VMARC's S2ADDNEW does.  (VMARC would loop for ever when no
 * entry is free; here the string is not added, in both directions alike.) */
static void s2_add(s2_table *t, int l, int r)
{
    int e = t->last, found = 0;
    if (t->len[l] + t->len[r] > S2MAXLEN)
        return;
    t->count[l]++;
    t->count[r]++;
    for (int i = 0; i < NCODES - NATOM; i++) {
        e++;
        if (e >= NCODES)
            e = NATOM;
        if (!t->count[e]) { found = 1; break; }
    }
    if (!found) {
        t->count[l]--;
        t->count[r]--;
        return;
    }
    if (t->left[e] >= 0) {
        int ol = t->left[e];
        int16_t *slot = &t->offsp[ol];
        t->count[ol]--;
        for (int guard = 0; *slot >= 0 && guard < NCODES; guard++) {
            if (*slot == e) { *slot = t->sib[e]; break; }
            slot = &t->sib[*slot];
        }
        t->count[t->right[e]]--;
    }
    t->left[e] = (int16_t)l;
    t->right[e] = (int16_t)r;
    t->len[e] = (uint16_t)(t->len[l] + t->len[r]);
    /* append to l's offspring, but ahead of the last string made */
    {
        int16_t *slot = &t->offsp[l];
        for (int guard = 0; *slot >= 0 && *slot != t->last && guard < NCODES; guard++)
            slot = &t->sib[*slot];
        t->sib[e] = *slot;
        *slot = (int16_t)e;
    }
    t->last = e;
}

static int64_t s2_decode(codes_in *c, sink *s)
{
    s2_table *t = malloc(sizeof *t);
    int16_t stack[S2MAXLEN + 8];
    int prev, v, r;
    int64_t rc = 0;
    if (!t)
        return spk_fail(s->err, SPK_ENOMEM, -1, -1, "out of memory");
    s2_init(t);
    v = get_code(c, &s->at);
    if (v < 0) { rc = truncated(s->err, c); goto done; }
    if (v >= NATOM) {
        rc = spk_fail(s->err, SPK_ECOMPRESS, s->at, -1,
                      "S2 stream starts with code %d, not a symbol", v);
        goto done;
    }
    r = put_sym(s, (unsigned)v);
    if (r) { rc = r < 0 ? r : 0; goto done; }
    prev = v;
    for (;;) {
        int sp = 0, end = 0;
        v = get_code(c, &s->at);
        if (v < 0) { rc = truncated(s->err, c); break; }
        if (!s2_defined(t, v)) {
            rc = spk_fail(s->err, SPK_ECOMPRESS, s->at, -1, "S2 code %d is not defined", v);
            break;
        }
        stack[sp++] = (int16_t)v;
        while (sp) {
            int x = stack[--sp];
            if (end) {
                rc = spk_fail(s->err, SPK_ECOMPRESS, s->at, (int64_t)s->nrec,
                              "S2 code %d goes on past the end of the file", v);
                goto done;
            }
            if (t->left[x] < 0) {
                r = put_sym(s, (unsigned)x);
                if (r < 0) { rc = r; goto done; }
                end = r;
            } else {
                if (sp + 2 > (int)(sizeof stack / sizeof *stack)) {
                    rc = spk_fail(s->err, SPK_ECOMPRESS, s->at, -1, "S2 table broken at code %d", v);
                    goto done;
                }
                stack[sp++] = t->right[x];
                stack[sp++] = t->left[x];
            }
        }
        if (end)
            break;
        s2_add(t, prev, v);
        prev = v;
    }
done:
    free(t);
    return rc < 0 ? rc : 0;
}

/* does string v equal sym[p..p+len(v))?  (the caller checked the length) */
static int s2_match(const s2_table *t, int v, const uint16_t *sym, size_t p)
{
    int16_t stack[S2MAXLEN + 8];
    int sp = 0;
    stack[sp++] = (int16_t)v;
    while (sp) {
        int x = stack[--sp];
        if (t->left[x] < 0) {
            if (sym[p++] != x)
                return 0;
        } else {
            if (sp + 2 > (int)(sizeof stack / sizeof *stack))
                return 0;
            stack[sp++] = t->right[x];
            stack[sp++] = t->left[x];
        }
    }
    return 1;
}

static int s2_encode(const uint16_t *sym, size_t nsym, codes_out *o, spk_errinfo *err)
{
    s2_table *t = malloc(sizeof *t);
    size_t p;
    int prev;
    if (!t)
        return spk_fail(err, SPK_ENOMEM, -1, -1, "out of memory");
    s2_init(t);
    if (nsym) {
        put_code(o, sym[0]);
        prev = sym[0];
        p = 1;
        while (p < nsym) {
            /* VMARC's search: from the symbol, down the first offspring
             * whose right part matches too, until none does */
            int cur = sym[p];
            size_t curlen = 1;
            for (;;) {
                int x;
                for (x = t->offsp[cur]; x >= 0; x = t->sib[x]) {
                    size_t xl = t->len[x];
                    if (xl < S2MAXLEN && p + xl <= nsym && s2_match(t, t->right[x], sym, p + curlen))
                        break;
                }
                if (x < 0)
                    break;
                cur = x;
                curlen = t->len[x];
            }
            put_code(o, (unsigned)cur);
            s2_add(t, prev, cur);
            prev = cur;
            p += curlen;
        }
    }
    put_code(o, 0);
    free(t);
    return 0;
}

/* ==== STORE ============================================================== */

static int64_t store_decode(codes_in *c, sink *s)
{
    for (;;) {
        uint32_t n;
        s->at = (int64_t)c->pos;
        if (c->len - c->pos < 2)
            return truncated(s->err, c);
        n = spk_be16(c->buf + c->pos);
        c->pos += 2;
        if (!n)
            return 0;
        if (s->fixed ? n != s->lrecl : n > s->lrecl)
            return spk_fail(s->err, SPK_EFORMAT, s->at, (int64_t)s->nrec,
                            "record %llu is %u bytes; the header says %s %u",
                            (unsigned long long)s->nrec + 1, n,
                            s->fixed ? "F" : "V, at most", s->lrecl);
        if (c->len - c->pos < n)
            return spk_fail(s->err, SPK_ETRUNC, (int64_t)c->len, (int64_t)s->nrec,
                            "the member ends inside record %llu",
                            (unsigned long long)s->nrec + 1);
        if (s->out) {
            if (s->outcap - s->datalen < n)
                return spk_fail(s->err, SPK_EBUFSIZE, s->at, (int64_t)s->nrec,
                                "more data than the output holds");
            memcpy(s->out + s->datalen, c->buf + c->pos, n);
        }
        s->datalen += n;
        c->pos += n;
        {
            int r = close_record(s);
            if (r)
                return r;
        }
    }
}

/* ==== API ================================================================ */

int64_t spk_vmarc_decode(const uint8_t *buf, size_t len, size_t pos, int method, int fixed,
                         uint32_t lrecl, uint8_t *out, size_t outcap, uint32_t *ends,
                         uint64_t maxrec, uint64_t *datalen, uint64_t *endpos, spk_errinfo *err)
{
    sink s;
    codes_in c;
    int64_t rc;
    if (pos > len)
        return spk_fail(err, SPK_EARG, -1, -1, "stream start past the data");
    if (fixed && lrecl == 0)
        return spk_fail(err, SPK_EFORMAT, -1, -1, "F member with LRECL 0");
    memset(&s, 0, sizeof s);
    s.out = out;
    s.outcap = out ? outcap : 0;
    s.ends = ends;
    s.maxrec = ends ? maxrec : 0;
    s.lrecl = lrecl;
    s.fixed = fixed;
    s.err = err;
    s.at = (int64_t)pos;
    c.buf = buf;
    c.len = len;
    c.pos = pos;
    c.half = 0;
    switch (method) {
    case SPK_VMARC_LZW: rc = lzw_decode(&c, &s); break;
    case SPK_VMARC_S2: rc = s2_decode(&c, &s); break;
    case SPK_VMARC_STORE: rc = store_decode(&c, &s); break;
    default: return spk_fail(err, SPK_EARG, -1, -1, "unknown method %d", method);
    }
    if (rc < 0)
        return rc;
    if (datalen)
        *datalen = s.datalen;
    if (endpos)
        *endpos = c.pos;
    return (int64_t)s.nrec;
}

uint64_t spk_vmarc_bound(uint64_t datalen, uint64_t n, int method, uint32_t reclen)
{
    uint64_t body;
    if (reclen == 0)
        reclen = 80;
    if (method == SPK_VMARC_STORE)
        body = datalen + 2 * n + 3;
    else
        body = (datalen + n + 2) * 3 / 2 + 2;
    body += SPK_VMARC_HDRLEN;
    return (body / reclen + 2) * reclen;
}

int64_t spk_vmarc_encode(const uint8_t *data, size_t datalen, const uint32_t *ends, uint64_t n,
                         int fixed, uint32_t lrecl, int method, const uint8_t *header,
                         uint32_t reclen, uint8_t *out, size_t outcap, spk_errinfo *err)
{
    uint16_t *sym = NULL;
    size_t nsym = 0, used;
    int rc;
    if (reclen < SPK_VMARC_HDRLEN || reclen > 32760)
        return spk_fail(err, SPK_EARG, -1, -1, "record length %u: %d..32760", reclen,
                        SPK_VMARC_HDRLEN);
    if (fixed && (lrecl == 0 || lrecl > 65535))
        return spk_fail(err, SPK_EARG, -1, -1, "F LRECL %u: 1..65535", lrecl);
    if (outcap < reclen)
        return spk_fail(err, SPK_EBUFSIZE, -1, -1, "output smaller than one record");
    memcpy(out, header, SPK_VMARC_HDRLEN);
    if (method == SPK_VMARC_STORE) {
        uint32_t start = 0;
        size_t p = SPK_VMARC_HDRLEN;
        if (n && ends[n - 1] != datalen)
            return spk_fail(err, SPK_EARG, -1, -1, "record ends do not cover the data");
        for (uint64_t r = 0; r < n; r++) {
            uint32_t end = ends[r], l = end - start;
            if (end < start || end > datalen)
                return spk_fail(err, SPK_EARG, -1, (int64_t)r, "record ends are not ascending");
            if (fixed ? l != lrecl : (l == 0 || l > 65535))
                return spk_fail(err, SPK_EARG, -1, (int64_t)r,
                                "record %llu is %u bytes: %s", (unsigned long long)r + 1, l,
                                fixed ? "not the LRECL" : "V records are 1..65535 bytes");
            if (outcap - p < (size_t)l + 2)
                return spk_fail(err, SPK_EBUFSIZE, -1, (int64_t)r, "output too small");
            spk_put_be16(out + p, l);
            memcpy(out + p + 2, data + start, l);
            p += (size_t)l + 2;
            start = end;
        }
        if (outcap - p < 3)
            return spk_fail(err, SPK_EBUFSIZE, -1, -1, "output too small");
        memset(out + p, 0, 3);         /* LRECL 0 ends the file; VMARC writes 3 zeros */
        used = p + 3;
    } else if (method == SPK_VMARC_LZW || method == SPK_VMARC_S2) {
        codes_out o;
        rc = make_symbols(data, datalen, ends, n, fixed, lrecl, &sym, &nsym, err);
        if (rc)
            return rc;
        o.out = out;
        o.cap = outcap;
        o.pos = SPK_VMARC_HDRLEN;
        o.half = 0;
        o.overflow = 0;
        rc = method == SPK_VMARC_LZW ? lzw_encode(sym, nsym, &o, err) : s2_encode(sym, nsym, &o, err);
        free(sym);
        if (rc)
            return rc;
        if (o.overflow)
            return spk_fail(err, SPK_EBUFSIZE, -1, -1, "output too small");
        used = codes_end(&o);
    } else {
        return spk_fail(err, SPK_EARG, -1, -1, "unknown method %d", method);
    }
    {
        size_t total = (used + reclen - 1) / reclen * reclen;
        if (total > outcap)
            return spk_fail(err, SPK_EBUFSIZE, -1, -1, "output too small");
        memset(out + used, 0, total - used);
        return (int64_t)total;
    }
}

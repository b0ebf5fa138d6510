/* compress.c - zlib-format streams through libdeflate, bzip2 through libbz2.
 *
 * libdeflate (de)compressors are costly to allocate, so each thread keeps
 * one per level, with its scratch buffers, in a context that a pthread key
 * frees when the thread ends (worker pools come and go). */
#include <bzlib.h>
#include <libdeflate.h>
#include <limits.h>
#include <pthread.h>
#include <stdlib.h>

#include "internal.h"

#define ZLIB_LEVELS 13

#if SPK_SMALL_DEFLATE
/* vendor/ld_deflate_compress_small.c: libdeflate's compressor with hash tables
 * sized for small inputs; same levels, same stream format */
struct spk_small_compressor;
struct spk_small_compressor *spk_small_alloc_compressor(int level);
size_t spk_small_zlib_compress(struct spk_small_compressor *c, const void *in, size_t in_nbytes,
                               void *out, size_t out_nbytes_avail);
void spk_small_free_compressor(struct spk_small_compressor *c);
#endif

struct tls_ctx {
    struct libdeflate_compressor *comp[ZLIB_LEVELS];
#if SPK_SMALL_DEFLATE
    struct spk_small_compressor *small[ZLIB_LEVELS];
#endif
    struct libdeflate_decompressor *decomp;
    uint8_t *scratch[SPK_SCRATCH_SLOTS];
    size_t scratch_cap[SPK_SCRATCH_SLOTS];
};

static pthread_key_t tls_key;
static pthread_once_t tls_once = PTHREAD_ONCE_INIT;
static int tls_ok;

static void tls_free(void *p)
{
    struct tls_ctx *c = p;

    for (int i = 0; i < ZLIB_LEVELS; i++) {
        libdeflate_free_compressor(c->comp[i]);
#if SPK_SMALL_DEFLATE
        spk_small_free_compressor(c->small[i]);
#endif
    }
    libdeflate_free_decompressor(c->decomp);
    for (int i = 0; i < SPK_SCRATCH_SLOTS; i++)
        free(c->scratch[i]);
    free(c);
}

static void tls_init(void)
{
    tls_ok = pthread_key_create(&tls_key, tls_free) == 0;
}

static struct tls_ctx *tls(void)
{
    struct tls_ctx *c;

    pthread_once(&tls_once, tls_init);
    if (!tls_ok)
        return NULL;
    c = pthread_getspecific(tls_key);
    if (!c) {
        c = calloc(1, sizeof *c);
        if (c && pthread_setspecific(tls_key, c) != 0) {
            free(c);
            c = NULL;
        }
    }
    return c;
}

uint8_t *spk_scratch(int slot, size_t size)
{
    struct tls_ctx *c = tls();

    if (!c || slot < 0 || slot >= SPK_SCRATCH_SLOTS)
        return NULL;
    if (c->scratch_cap[slot] < size) {
        free(c->scratch[slot]);
        c->scratch[slot] = malloc(size);
        c->scratch_cap[slot] = c->scratch[slot] ? size : 0;
    }
    return c->scratch[slot];
}

static int zlib_compress(int level, const uint8_t *src, size_t srclen, uint8_t *dst,
                         size_t dstcap, spk_errinfo *err)
{
    struct tls_ctx *c = tls();
    size_t n;

    if (level <= 0)
        level = SPK_ZLIB_DEFAULT_LEVEL;
    if (level >= ZLIB_LEVELS)
        return spk_fail(err, SPK_EARG, -1, -1, "zlib level %d outside 1..12", level);
#if SPK_SMALL_DEFLATE
    if (srclen <= SPK_SMALL_DEFLATE_MAX && level <= 9) {
        if (c && !c->small[level])
            c->small[level] = spk_small_alloc_compressor(level);
        if (!c || !c->small[level])
            return spk_fail(err, SPK_ENOMEM, -1, -1, "cannot allocate a compressor");
        n = spk_small_zlib_compress(c->small[level], src, srclen, dst, dstcap);
        if (n == 0)
            return spk_fail(err, SPK_EBUFSIZE, -1, -1, "compressed data exceeds %zu bytes",
                            dstcap);
        return (int)n;
    }
#endif
    if (c && !c->comp[level])
        c->comp[level] = libdeflate_alloc_compressor(level);
    if (!c || !c->comp[level])
        return spk_fail(err, SPK_ENOMEM, -1, -1, "cannot allocate a compressor");
    n = libdeflate_zlib_compress(c->comp[level], src, srclen, dst, dstcap);
    if (n == 0)
        return spk_fail(err, SPK_EBUFSIZE, -1, -1, "compressed data exceeds %zu bytes", dstcap);
    return (int)n;
}

static int zlib_decompress(const uint8_t *src, size_t srclen, uint8_t *dst, size_t dstcap,
                           spk_errinfo *err)
{
    struct tls_ctx *c = tls();
    size_t in = 0, out = 0;
    enum libdeflate_result r;

    if (c && !c->decomp)
        c->decomp = libdeflate_alloc_decompressor();
    if (!c || !c->decomp)
        return spk_fail(err, SPK_ENOMEM, -1, -1, "cannot allocate a decompressor");
    r = libdeflate_zlib_decompress_ex(c->decomp, src, srclen, dst, dstcap, &in, &out);
    if (r == LIBDEFLATE_INSUFFICIENT_SPACE)
        return spk_fail(err, SPK_ECOMPRESS, -1, -1,
                        "zlib data inflates past the limit of %zu bytes", dstcap);
    if (r != LIBDEFLATE_SUCCESS)
        return spk_fail(err, SPK_ECOMPRESS, -1, -1, "zlib data is corrupt (libdeflate code %d)",
                        (int)r);
    return (int)out;
}

static int bz_compress(int level, const uint8_t *src, size_t srclen, uint8_t *dst,
                       size_t dstcap, spk_errinfo *err)
{
    unsigned int n = dstcap > UINT_MAX ? UINT_MAX : (unsigned int)dstcap;
    int rc;

    if (level < 1 || level > 9)
        level = SPK_BZIP2_DEFAULT_LEVEL;
    rc = BZ2_bzBuffToBuffCompress((char *)dst, &n, (char *)src, (unsigned int)srclen, level,
                                  0, 0);
    if (rc == BZ_OUTBUFF_FULL)
        return spk_fail(err, SPK_EBUFSIZE, -1, -1, "compressed data exceeds %zu bytes", dstcap);
    if (rc != BZ_OK)
        return spk_fail(err, rc == BZ_MEM_ERROR ? SPK_ENOMEM : SPK_ECOMPRESS, -1, -1,
                        "bzip2 compression failed (code %d)", rc);
    return (int)n;
}

static int bz_decompress(const uint8_t *src, size_t srclen, uint8_t *dst, size_t dstcap,
                         spk_errinfo *err)
{
    unsigned int n = dstcap > UINT_MAX ? UINT_MAX : (unsigned int)dstcap;
    int rc = BZ2_bzBuffToBuffDecompress((char *)dst, &n, (char *)src, (unsigned int)srclen, 0, 0);

    if (rc == BZ_OUTBUFF_FULL)
        return spk_fail(err, SPK_ECOMPRESS, -1, -1,
                        "bzip2 data expands past the limit of %zu bytes", dstcap);
    if (rc == BZ_MEM_ERROR)
        return spk_fail(err, SPK_ENOMEM, -1, -1, "bzip2: out of memory");
    if (rc != BZ_OK)
        return spk_fail(err, SPK_ECOMPRESS, -1, -1, "bzip2 data is corrupt (code %d)", rc);
    return (int)n;
}

int spk_compress(int method, int level, const uint8_t *src, size_t srclen,
                 uint8_t *dst, size_t dstcap, spk_errinfo *err)
{
    if ((!src && srclen) || !dst || srclen > INT_MAX || srclen > UINT_MAX)
        return spk_fail(err, SPK_EARG, -1, -1, "bad compression buffers");
    switch (method) {
    case SPK_COMP_NONE:
        if (srclen > dstcap)
            return spk_fail(err, SPK_EBUFSIZE, -1, -1, "data exceeds %zu bytes", dstcap);
        memcpy(dst, src, srclen);
        return (int)srclen;
    case SPK_COMP_ZLIB:
        return zlib_compress(level, src, srclen, dst, dstcap, err);
    case SPK_COMP_BZIP2:
        return bz_compress(level, src, srclen, dst, dstcap, err);
    default:
        return spk_fail(err, SPK_EARG, -1, -1, "unknown compression method %d", method);
    }
}

int spk_decompress(int method, const uint8_t *src, size_t srclen,
                   uint8_t *dst, size_t dstcap, spk_errinfo *err)
{
    if ((!src && srclen) || !dst || srclen > UINT_MAX)
        return spk_fail(err, SPK_EARG, -1, -1, "bad decompression buffers");
    if (dstcap > INT_MAX)
        dstcap = INT_MAX;
    switch (method) {
    case SPK_COMP_NONE:
        if (srclen > dstcap)
            return spk_fail(err, SPK_ECOMPRESS, -1, -1, "data exceeds the limit of %zu bytes", dstcap);
        memcpy(dst, src, srclen);
        return (int)srclen;
    case SPK_COMP_ZLIB:
        return zlib_decompress(src, srclen, dst, dstcap, err);
    case SPK_COMP_BZIP2:
        return bz_decompress(src, srclen, dst, dstcap, err);
    default:
        return spk_fail(err, SPK_EFORMAT, -1, -1, "unknown compression method %d", method);
    }
}

/* Vendored libdeflate's compressor (lib/deflate_compress.c and lib/zlib_compress.c)
 * compiled a second time with match-finder hash tables sized for small inputs, its
 * entry points renamed spk_small_*.  Every input is compressed from a freshly reset
 * match finder, so the full-size tables (192 KiB at levels 2-9, 128 KiB at level 1,
 * sized for 32 KiB windows) cost a memset and their cache misses per call whatever
 * the input's size; these cost 18 KiB and 32 KiB.  A 10-bit hash of 3-byte strings
 * finds as many of the short matches in a block of a few KiB as a 15-bit one.  The
 * output is an ordinary zlib stream; compress.c uses this copy at levels 1-9 for
 * inputs up to SPK_SMALL_DEFLATE_MAX bytes (levels 10-12, whose binary-tree match
 * finder is not resized here, keep the full-size build). */
#pragma GCC diagnostic ignored "-Wsign-compare"

#define HC_MATCHFINDER_HASH3_ORDER 10
#define HC_MATCHFINDER_HASH4_ORDER 13
#define HT_MATCHFINDER_HASH_ORDER 13

#define libdeflate_compressor spk_small_compressor
#define libdeflate_alloc_compressor_ex spk_small_alloc_compressor_ex
#define libdeflate_alloc_compressor spk_small_alloc_compressor
#define libdeflate_deflate_compress spk_small_deflate_compress
#define libdeflate_deflate_compress_bound spk_small_deflate_compress_bound
#define libdeflate_free_compressor spk_small_free_compressor
#define libdeflate_get_compression_level spk_small_get_compression_level
#define libdeflate_zlib_compress spk_small_zlib_compress
#define libdeflate_zlib_compress_bound spk_small_zlib_compress_bound

#include "libdeflate/lib/deflate_compress.c"
#include "libdeflate/lib/zlib_compress.c"

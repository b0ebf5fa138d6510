/* internal.h - helpers shared by the C core; not part of the public API. */
#ifndef SPK_INTERNAL_H
#define SPK_INTERNAL_H

#include <stdarg.h>
#include <stdint.h>
#include <string.h>

#include "spoolkit.h"

static inline uint16_t spk_be16(const uint8_t *p) { return (uint16_t)((p[0] << 8) | p[1]); }
static inline uint32_t spk_be32(const uint8_t *p)
{
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}
static inline uint64_t spk_be64(const uint8_t *p)
{
    return ((uint64_t)spk_be32(p) << 32) | spk_be32(p + 4);
}
static inline uint16_t spk_le16(const uint8_t *p) { return (uint16_t)(p[0] | (p[1] << 8)); }
static inline uint32_t spk_le32(const uint8_t *p)
{
    return p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}
static inline uint64_t spk_le64(const uint8_t *p)
{
    return spk_le32(p) | ((uint64_t)spk_le32(p + 4) << 32);
}
static inline void spk_put_be16(uint8_t *p, uint32_t v) { p[0] = (uint8_t)(v >> 8); p[1] = (uint8_t)v; }
static inline void spk_put_be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24); p[1] = (uint8_t)(v >> 16); p[2] = (uint8_t)(v >> 8); p[3] = (uint8_t)v;
}
static inline void spk_put_be64(uint8_t *p, uint64_t v) { spk_put_be32(p, (uint32_t)(v >> 32)); spk_put_be32(p + 4, (uint32_t)v); }
static inline void spk_put_le16(uint8_t *p, uint32_t v) { p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); }
static inline void spk_put_le32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); p[2] = (uint8_t)(v >> 16); p[3] = (uint8_t)(v >> 24);
}
static inline void spk_put_le64(uint8_t *p, uint64_t v) { spk_put_le32(p, (uint32_t)v); spk_put_le32(p + 4, (uint32_t)(v >> 32)); }

/* A per-thread scratch buffer of at least size bytes (freed when the thread
 * ends; reused by the next call with the same slot), or NULL. */
enum {
    SPK_SCRATCH_TAPE_DATA, SPK_SCRATCH_TAPE_COMP, SPK_SCRATCH_CHECK_WIN, SPK_SCRATCH_CHECK_TRK,
    SPK_SCRATCH_SLOTS
};
uint8_t *spk_scratch(int slot, size_t size);

/* Framings (csrc/archive.c): check one (stream_ok: SPK_ARCH_STREAM allowed
 * besides the tape formats), and the bytes a block of blen bytes takes once
 * framed (plain; a compressed block is kept only when smaller, so this
 * bounds it too). */
int spk_frame_check(const spk_archive_frame *fr, int stream_ok, spk_errinfo *err);
uint64_t spk_frame_len(const spk_archive_frame *fr, uint64_t blen);

/* Record an error in err (may be NULL) and return code. */
int spk_fail(spk_errinfo *err, int code, int64_t offset, int64_t index, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

/* Up to want bytes of fd at off into dst, EINTR retried: the count read
   (short only at the end of the file), or -errno. */
int64_t spk_pread_full(int fd, uint8_t *dst, size_t want, uint64_t off);

#endif

/*
 * spoolkit.h - the one public C API of spoolkit's core, also the cffi cdef.
 *
 * cdef rules (spoolkit/_build.py feeds this file to cffi): lines starting
 * with '#' are dropped, so keep every declaration free of macros; use enums
 * for constants and only <stdint.h>/<stddef.h> types.  After a change, run
 * `python tools/gen_stub.py`: it regenerates spoolkit/_spoolkit.pyi, the
 * typed view of this API (tests/test_stub.py fails until it matches).
 *
 * Conventions: functions return >= 0 on success (often a count) and a
 * negative SPK_E* code on failure; details go to an optional spk_errinfo.
 * Every length read from a buffer is checked against that buffer first.
 * All multi-byte numbers inside track images are big-endian.
 */
#ifndef SPOOLKIT_H
#define SPOOLKIT_H

#include <stddef.h>
#include <stdint.h>

/* ==== common ============================================================ */

enum spk_status {
    SPK_OK = 0,
    SPK_EFORMAT = -1,      /* malformed structure */
    SPK_ETRUNC = -2,       /* input ends before a structure it announces */
    SPK_ECAPACITY = -3,    /* does not fit the real device track */
    SPK_EBUFSIZE = -4,     /* caller's output buffer too small */
    SPK_EARG = -5,         /* invalid argument */
    SPK_ECOMPRESS = -6,    /* (de)compression failed or overflowed */
    SPK_ECRC = -7,         /* checksum mismatch */
    SPK_ENOMEM = -8,       /* allocation failed */
    SPK_ELOOP = -9,        /* a chain revisits an element */
    SPK_ERANGE = -10,      /* address outside the device */
    SPK_EUNSUPPORTED = -11,/* valid but not supported */
    SPK_ENOTFOUND = -12,   /* looked-up item absent */
    SPK_ENOSPACE = -13,    /* no free space left */
    SPK_EWINDOW = -14,     /* the data goes on past the window the caller read: read more */
    SPK_EIO = -15,         /* reading a file failed (errno in err->index) */
    SPK_EWRITE = -16       /* writing a file failed (errno in err->index, offset in err->offset) */
};

typedef struct spk_errinfo {
    int code;              /* SPK_E* */
    int64_t offset;        /* byte offset of the fault in the input, -1 if none */
    int64_t index;         /* record / block / page / track index, -1 if none */
    char msg[200];         /* what was wrong, NUL-terminated */
} spk_errinfo;

const char *spk_version(void);
const char *spk_strerror(int code);

/* Start the write-back of bytes [offset, offset+length) of fd (Linux
   sync_file_range, elsewhere nothing); a hint, errors come at fsync. */
int spk_io_writeback(int fd, int64_t offset, int64_t length);

/* ==== geometry (csrc/geometry.c) ======================================== */

typedef struct spk_ckddev {
    const char *name;      /* "3390-3" */
    uint16_t devt;         /* 0x3390 */
    uint8_t model;         /* RDC model byte */
    uint8_t code;
    uint32_t cyls;         /* primary cylinders */
    uint32_t altcyls;
    uint32_t heads;
    uint32_t r0;           /* max R0 data length */
    uint32_t r1;           /* max R1 data length (KL=0) */
    uint32_t har0;
    uint32_t len;          /* track length used by the formula */
    uint32_t sectors;
    int32_t formula;       /* 2, 1, -1, -2 */
    int32_t f1, f2, f3, f4, f5, f6;
    const char *cu;
} spk_ckddev;

typedef struct spk_fbadev {
    const char *name;
    uint16_t devt;
    uint8_t devclass, type, model;
    uint32_t bpg, bpp, blksize, blocks;
    uint16_t cu;
} spk_fbadev;

typedef struct spk_capacity {
    int fits;              /* 1 when the record fits after `used` bytes */
    int32_t newused;       /* used + b2 (valid when fits) */
    int32_t balance;       /* bytes left on the track (valid when fits) */
    int32_t b1, b2;        /* bytes taken when last / not last on the track */
    int32_t nrecs;         /* records of this KL/DL per track */
    int32_t physlen, kbconst, lbconst, nkconst, tolfact, maxdlen;
    uint8_t devflag;
} spk_capacity;

size_t spk_geom_ckd_count(void);
const spk_ckddev *spk_geom_ckd_get(size_t i);
size_t spk_geom_fba_count(void);
const spk_fbadev *spk_geom_fba_get(size_t i);
/* Hercules dasd_lookup: by name, else first row of devt with cyls+alt >= size */
const spk_ckddev *spk_geom_ckd_lookup(const char *name, uint32_t devt, uint32_t size);
const spk_fbadev *spk_geom_fba_lookup(const char *name, uint32_t devt, uint32_t size);
/* slot size of a track in an image: ROUND_UP(37 + r1, 512) */
uint32_t spk_geom_trksize(const spk_ckddev *dev);
/* Hercules capacity_calc exactly; SPK_EUNSUPPORTED for an unknown formula */
int spk_geom_capacity(const spk_ckddev *dev, int32_t used, int32_t kl, int32_t dl,
                      spk_capacity *out);

/* ==== track images (csrc/track.c) ======================================= */

enum spk_track_flags {
    SPK_TRK_OVERFLOW = 1,    /* CC bit 0x8000 is the track-overflow flag (cyls < 32768) */
    SPK_TRK_ANYHA = 2,       /* do not compare the home address with cyl/head */
    SPK_TRK_CCKDHA = 4,      /* HA byte 0 may hold a CCKD compression code 0..2 */
    SPK_TRK_STRICT = 8       /* validate: also require record CCHH = HA (Hercules does not) */
};

enum spk_record_flags {
    SPK_REC_OVERFLOW = 1     /* count field carried the track-overflow bit */
};

typedef struct spk_record {
    uint32_t offset;         /* offset of the 8-byte count field in the image */
    uint16_t cyl;            /* CC (overflow bit removed when SPK_TRK_OVERFLOW) */
    uint16_t head;
    uint8_t rec;
    uint8_t kl;
    uint16_t dl;
    uint8_t flags;           /* SPK_REC_* */
} spk_record;

typedef struct spk_track_info {
    uint32_t length;         /* HA through EOT inclusive */
    uint32_t nrecs;          /* records after R0 (count even when > capacity of out) */
    uint16_t cyl, head;      /* from the home address */
    uint32_t key_bytes, data_bytes;
    uint32_t eof_records;    /* records with KL 0 and DL 0 */
} spk_track_info;

/* Parse one track image: HA, R0, records, EOT.  Fills up to maxrec entries
 * of out (R0 is out[0] when out is given; nrecs counts records after R0).
 * Returns the number of entries written, SPK_EBUFSIZE when maxrec is too
 * small (info->nrecs tells how many are needed) or a format error. */
int spk_track_parse(const uint8_t *buf, size_t len, uint32_t cyl, uint32_t head,
                    int flags, spk_record *out, size_t maxrec,
                    spk_track_info *info, spk_errinfo *err);

/* parse + R0 shape (R 0, KL 0, DL 8) + R != 0 for R1..Rn (any order, as on
 * real CP-formatted tracks) + record CCHH = HA under SPK_TRK_STRICT + real
 * device capacity when dev != NULL */
int spk_track_validate(const uint8_t *buf, size_t len, uint32_t cyl, uint32_t head,
                       int flags, const spk_ckddev *dev, spk_track_info *info,
                       spk_errinfo *err);

/* Check records (R1..) of a parsed image against the device capacity. */
int spk_track_capacity(const uint8_t *buf, size_t len, const spk_ckddev *dev,
                       int flags, int32_t *used, spk_errinfo *err);

typedef struct spk_recspec {
    uint16_t cyl, head;      /* CCHH of the count field */
    uint8_t rec, kl;
    uint32_t dl;             /* checked <= 65535 */
    uint8_t overflow;        /* set the track-overflow bit */
    const uint8_t *key;      /* kl bytes (may be NULL when kl == 0) */
    const uint8_t *data;     /* dl bytes (NULL means zeros) */
} spk_recspec;

/* Build HA + R0 (r0data: 8 bytes or NULL for zeros) + records + EOT into out.
 * Returns the image length. */
int spk_track_build(uint8_t *out, size_t outlen, uint32_t cyl, uint32_t head,
                    const uint8_t *r0data, const spk_recspec *recs, size_t n,
                    spk_errinfo *err);

/* A track of nrecs keyless records of reclen bytes each, taken in turn from
 * data (len = nrecs * reclen): HA, R0 of 8 zero bytes, R1..Rn, EOT, CCHH =
 * cyl/head (spool slot tracks, minidisk archive tracks).  Returns the image
 * length. */
int spk_track_build_fixed(uint8_t *out, size_t outlen, uint32_t cyl, uint32_t head,
                          const uint8_t *data, size_t len, uint32_t reclen, uint32_t nrecs,
                          spk_errinfo *err);

/* Build a null track: fmt 0 (R0+EOF), 1 (R0 only), 2 (Linux, 12 x 4096). */
int spk_track_null(uint8_t *out, size_t outlen, uint32_t cyl, uint32_t head,
                   int fmt, spk_errinfo *err);

/* ==== VM/370 page-formatted tracks (csrc/cpvol.c) ======================= */

/* One record of a page-format group, as VM/370 FORMAT writes it. */
typedef struct spk_cp_slot {
    uint8_t head;            /* track of the group that holds it (0-based, ascending) */
    uint8_t rec;             /* record number in the first group of a cylinder (1..255) */
    uint16_t dl;             /* data length (a segment's, for an overflow record) */
    uint8_t overflow;        /* written with Write Special CKD: continued on the next track */
} spk_cp_slot;

/* The records one FORMAT pass writes over group_heads tracks; the next
 * group repeats them group_heads tracks further with record numbers
 * group_step higher. */
typedef struct spk_cp_layout {
    uint32_t group_heads;
    uint32_t group_step;
    const spk_cp_slot *slots;
    uint32_t nslots;         /* 1..64 */
} spk_cp_layout;

/* The page-formatted track `head` of cylinder `cyl` (< 32768): HA, R0
 * (r0data: 8 bytes, NULL for zeros), the layout's records with zero data,
 * EOT.  Returns the image length; SPK_ERANGE when a record number would
 * pass 255 (a head beyond the layout's device). */
int spk_cp_page_track(uint8_t *out, size_t outlen, uint32_t cyl, uint32_t head,
                      const spk_cp_layout *lay, const uint8_t *r0data, spk_errinfo *err);

/* 1 when the records of a track image are exactly the ones
 * spk_cp_page_track writes there (count fields: CCHH, R, KL 0, DL and the
 * overflow flag; the data is not compared), 0 when they are not, or an
 * error for an image that is no track. */
int spk_cp_page_check(const uint8_t *buf, size_t len, uint32_t cyl, uint32_t head,
                      const spk_cp_layout *lay, spk_errinfo *err);

/* ==== plain CKD images (csrc/ckd.c) ===================================== */

typedef struct spk_ckd_devhdr {
    char devid[9];           /* "CKD_P370" ... NUL-terminated */
    uint32_t heads;
    uint32_t trksize;
    uint8_t devtype;         /* low byte of the device type */
    uint8_t fileseq;
    uint16_t highcyl;
    char serial[13];
} spk_ckd_devhdr;

int spk_ckd_devhdr_parse(const uint8_t *buf, size_t len, spk_ckd_devhdr *out,
                         spk_errinfo *err);
int spk_ckd_devhdr_build(uint8_t *out, size_t outlen, const spk_ckd_devhdr *hdr,
                         spk_errinfo *err);

typedef struct spk_scan_stats {
    uint64_t tracks;
    uint64_t records;        /* after R0 */
    uint64_t eof_records;    /* KL=0 DL=0 */
    uint64_t key_bytes;
    uint64_t data_bytes;
    uint64_t image_bytes;    /* HA..EOT, summed */
} spk_scan_stats;

/* Parse every track of ntracks consecutive slots of trksize bytes (a mapped
 * plain CKD file region) starting at absolute track first_trk, checking each
 * home address against its position.  Stops at the first bad track: the
 * error's index is the absolute track number.  Accumulates into stats. */
int spk_ckd_scan(const uint8_t *buf, size_t len, uint32_t trksize,
                 uint32_t first_trk, uint32_t ntracks, uint32_t heads, int flags,
                 spk_scan_stats *stats, spk_errinfo *err);
/* The same over ntracks slots of a file, read with pread from offset off in
 * pieces of about 1 MiB (a file that shrinks meanwhile gives SPK_ETRUNC, the
 * error offset then absolute; parse errors' offsets are relative to off). */
int spk_ckd_scan_fd(int fd, uint64_t off, uint32_t trksize, uint32_t first_trk,
                    uint32_t ntracks, uint32_t heads, int flags, spk_scan_stats *stats,
                    spk_errinfo *err);

/* Write null tracks (format nullfmt) into ntracks consecutive slots of a
 * mapped plain CKD region, the first being absolute track first_trk.  Only
 * the image bytes are written, so a sparse file stays sparse. */
int spk_ckd_format(uint8_t *buf, size_t len, uint32_t trksize, uint32_t first_trk,
                   uint32_t ntracks, uint32_t heads, int nullfmt, spk_errinfo *err);

/* ==== compression (csrc/compress.c) ===================================== */

enum spk_comp_method {
    SPK_COMP_NONE = 0,
    SPK_COMP_ZLIB = 1,       /* RFC 1950 zlib stream, made and read with libdeflate */
    SPK_COMP_BZIP2 = 2       /* bzip2 stream (libbz2) */
};

/* The levels 0 and -1 stand for: on real disk content the fastest whose
 * output is no larger than Hercules' default (dasdcopy -z: zlib 6; bzip2:
 * the same at every level for inputs under 100 KB), measured in
 * docs/performance.md. */
enum spk_comp_default {
    SPK_ZLIB_DEFAULT_LEVEL = 7,
    SPK_BZIP2_DEFAULT_LEVEL = 1
};

/* zlib inputs up to this many bytes, at levels 1-9, are compressed by a
 * second build of libdeflate's compressor with hash tables sized for them (the
 * tables are reset for every input; csrc/vendor/ld_deflate_compress_small.c):
 * the same stream format and about the same size, in less time.  Not with
 * SPOOLKIT_SYSTEM_LIBDEFLATE=1, which has only the one compressor. */
enum spk_comp_small {
    SPK_SMALL_DEFLATE_MAX = 32768
};

/* Compress src into dst (capacity dstcap).  level: zlib 1..12 (libdeflate's
 * scale, 0 or -1 = SPK_ZLIB_DEFAULT_LEVEL); bzip2 1..9 blockSize100k (else
 * SPK_BZIP2_DEFAULT_LEVEL).  Returns the
 * compressed length, or SPK_EBUFSIZE when the result would not fit dstcap
 * (callers then store the data plain).  Thread-safe; releases no GIL itself. */
int spk_compress(int method, int level, const uint8_t *src, size_t srclen,
                 uint8_t *dst, size_t dstcap, spk_errinfo *err);

/* Decompress a whole stream into dst.  Returns the decompressed length;
 * SPK_ECOMPRESS for a bad stream or when the output would exceed dstcap
 * (so a decompression bomb stops at the caller's limit). */
int spk_decompress(int method, const uint8_t *src, size_t srclen,
                   uint8_t *dst, size_t dstcap, spk_errinfo *err);

/* ==== compressed CKD / FBA (csrc/cckd.c) ================================ */

enum spk_cckd_const {
    SPK_CCKD_HDR_POS = 512,      /* CCKD_DEVHDR / CCKD64_DEVHDR offset */
    SPK_CCKD_L1_POS = 1024,      /* L1 table offset */
    SPK_CCKD_L2_ENTRIES = 256,
    SPK_CCKD_OPT_BIGEND = 2,     /* metadata is big-endian */
    SPK_CCKD_OPT_OPENRW = 64,
    SPK_CCKD_OPT_OPENED = 128,   /* open for update / not cleanly closed */
    SPK_CCKD_MAX_IMAGE = 65535,  /* L2_len is a U16 */
    SPK_CCKD_COMPRESS_MIN = 512, /* shorter images are stored plain */
    SPK_CFBA_BLKS_PER_GRP = 120,
    SPK_CFBA_GRP_SIZE = 61440,   /* 120 x 512 */
    SPK_CCKD_KIND_CKD = 0,
    SPK_CCKD_KIND_FBA = 1,
    SPK_CCKD_NOT_NULL = 3,       /* spk_cckd_null_format: not a storable null track */
    SPK_CCKD_KEEP = 3,           /* spk_cckd_pass_image: copy the stored image as it is */
    SPK_CCKD_FLAGGED = 4,        /* ... as it is, though Hercules 3.x cckdcdsk -3 flags it */
    SPK_CCKD_RESTORE = 5,        /* ... store the expanded image afresh */
    SPK_CCKD_BASE_ID_POS = 496   /* in the compressed header: "SPKBASE1" + U32 LE id */
};

/* CCKD_DEVHDR (is64 = 0) or CCKD64_DEVHDR (is64 = 1), decoded to host order. */
typedef struct spk_cckd_hdr {
    uint8_t vrm[3];
    uint8_t opts;            /* SPK_CCKD_OPT_* bits */
    int32_t num_l1;
    int32_t num_l2;
    uint32_t cyls;           /* CKD: cylinders; CFBA: sectors (always LE on disk) */
    uint64_t size, used, free_off, free_total, free_largest, free_imbed;
    int64_t free_num;
    uint8_t nullfmt;         /* 0, 1, 2 */
    uint8_t algo;            /* 0 none, 1 zlib, 2 bzip2 */
    int16_t parm;            /* level, -1 = default */
    uint8_t has_base_id;     /* a spoolkit shadow: base_id identifies the file below */
    uint32_t base_id;        /* spk_cckd_identity of the file below */
} spk_cckd_hdr;

/* one L2 entry; off UINT64_MAX = "not in this (shadow) file" */
typedef struct spk_cckd_l2ent {
    uint64_t off;
    uint16_t len;
    uint16_t size;
} spk_cckd_l2ent;

typedef struct spk_cckd_free {
    uint64_t off;
    uint64_t len;
} spk_cckd_free;

typedef struct spk_cckd_space {
    uint64_t off;
    uint64_t len;
    int64_t index;           /* track, L1 index or free block number */
    int32_t kind;            /* SPK_SPACE_* */
} spk_cckd_space;

enum spk_cckd_space_kind {
    SPK_SPACE_HEADER = 0, SPK_SPACE_L1 = 1, SPK_SPACE_L2 = 2, SPK_SPACE_TRACK = 3,
    SPK_SPACE_FREE = 4
};

typedef struct spk_cckd_overlap {
    size_t a, b;             /* indexes into the sorted space array; b == a when past EOF */
} spk_cckd_overlap;

/* Parse the 512-byte compressed device header (file offset 512), honouring
 * the big-endian option bit.  Checks version-independent sanity only. */
int spk_cckd_hdr_parse(const uint8_t *buf, size_t len, int is64, spk_cckd_hdr *out,
                       spk_errinfo *err);
/* Build it little-endian with the big-endian bit clear. */
int spk_cckd_hdr_build(uint8_t *out, size_t outlen, int is64, const spk_cckd_hdr *hdr,
                       spk_errinfo *err);

/* L1 table: n entries of 4 (CCKD) or 8 (CCKD64) bytes.  A 32-bit all-ones
 * entry decodes to UINT64_MAX. */
int spk_cckd_l1_decode(const uint8_t *buf, size_t len, uint32_t n, int is64, int bigend,
                       uint64_t *out, spk_errinfo *err);
int spk_cckd_l1_encode(uint8_t *out, size_t outlen, const uint64_t *l1, uint32_t n, int is64,
                       spk_errinfo *err);
/* One L2 table of 256 entries (2048 or 4096 bytes). */
int spk_cckd_l2_decode(const uint8_t *buf, size_t len, int is64, int bigend,
                       spk_cckd_l2ent *out, spk_errinfo *err);
int spk_cckd_l2_encode(uint8_t *out, size_t outlen, const spk_cckd_l2ent *l2, int is64,
                       spk_errinfo *err);
/* Set n entries to {off, len, size} (tables that are not on disk). */
void spk_cckd_l2_fill(spk_cckd_l2ent *l2, size_t n, uint64_t off, uint16_t len, uint16_t size);

/* Stored image -> track image (CKD: HA..EOT, validated, byte 0 reset to 0;
 * FBA: 5-byte group header + 61440 bytes).  trk is the track (or group)
 * number; the stored header must name it.  Returns the image length. */
int spk_cckd_trk_expand(const uint8_t *stored, size_t len, int kind, uint32_t trk,
                        uint32_t heads, int flags, uint8_t *out, size_t outcap,
                        spk_errinfo *err);
/* One file of a compressed volume as spk_cckd_expand_group reads it (base
 * first, shadows above): l2 holds the entries of the group's 256 tracks. */
typedef struct spk_cckd_src {
    int fd;
    int nullfmt;             /* cdh_nullfmt: 2 turns a 0-length null entry into format 2 */
    uint64_t meta_end;       /* images start at or after this offset */
    uint64_t filesize;
    const spk_cckd_l2ent *l2;
} spk_cckd_src;

/* Expand tracks first_trk .. first_trk+n-1 (all in one L2 group) of a
 * compressed CKD volume into the plain slots of out_fd: each image (from the
 * topmost file that holds the track; a null entry gives its null track) is
 * read with pread, expanded and validated, and only its bytes up to the end
 * of its EOT are pwritten at out_off + i*trksize (the rest of a new slot is
 * zeros already).  work: SPK_CCKD_MAX_IMAGE + max(trksize, 49277) bytes.
 * Returns n; a bad track gives its error with err->index the track; a failed
 * write SPK_EWRITE with errno in err->index and the file offset in err->offset. */
int spk_cckd_expand_group(const spk_cckd_src *files, uint32_t nfiles, uint32_t first_trk,
                          uint32_t n, uint32_t heads, int flags, uint32_t trksize,
                          int out_fd, uint64_t out_off, uint8_t *work, size_t worklen,
                          spk_errinfo *err);
/* Track image -> stored image: images under 512 bytes or method 0 plain,
 * otherwise compressed when that is smaller.  Returns the stored length. */
int spk_cckd_trk_compress(const uint8_t *image, size_t len, int method, int level,
                          uint8_t *out, size_t outcap, spk_errinfo *err);
/* The null format (0..2) that reproduces this CKD image exactly when stored as
 * an L2 null entry of a file whose cdh_nullfmt is given, else SPK_CCKD_NOT_NULL. */
int spk_cckd_null_format(const uint8_t *image, size_t len, uint32_t cyl, uint32_t head,
                         int cdh_nullfmt);

/* SPK_OK when Hercules 3.x cckdcdsk -3 accepts this CKD image of absolute
 * track trk (one spk_track_parse accepted), else SPK_EFORMAT saying why: it
 * replaces such a track with a null track. */
int spk_cckd_herc_check(const uint8_t *image, size_t len, uint32_t trk, uint32_t heads,
                        spk_errinfo *err);
/* A stored CKD image that a conversion with the same compression method
 * would copy: expanded and validated into scratch (cap >= trksize) as by
 * spk_cckd_trk_expand, then what the output stores: SPK_CCKD_KEEP (the
 * stored image), 0..2 (that null entry: a null track stored as an image,
 * which cckdcdsk -3 flags), SPK_CCKD_RESTORE (the image in scratch stored
 * afresh: the stored form is one cckdcdsk rejects) or SPK_CCKD_FLAGGED
 * (kept: cckdcdsk -3 flags the track's content, err says why).  Negative:
 * the stored image is bad. */
int spk_cckd_pass_image(const uint8_t *stored, size_t len, uint32_t trk, uint32_t heads,
                        int flags, uint32_t trksize, int cdh_nullfmt, uint8_t *scratch,
                        size_t cap, spk_errinfo *err);

/* Compress n consecutive plain-CKD slots (absolute tracks first_trk..): each
 * image is parsed (HA checked), stored as a null entry when
 * spk_cckd_null_format allows (lens[i] = format 0..2), else compressed into
 * out back to back (lens[i] = stored length >= 5).  flagged (NULL or n
 * bytes): 1 for a stored track that spk_cckd_herc_check rejects.  Returns
 * bytes used in out. */
int spk_cckd_compress_slots(const uint8_t *slots, size_t len, uint32_t trksize,
                            uint32_t first_trk, uint32_t n, uint32_t heads, int flags,
                            int method, int level, int cdh_nullfmt, uint8_t *out,
                            size_t outcap, uint32_t *lens, uint8_t *flagged,
                            spk_errinfo *err);

/* Read the free-space chain of a mapped file in either on-disk form (linked
 * blocks, or the "FREE_BLK" table).  Offsets must rise (else SPK_ELOOP) and
 * stay inside the file.  Returns the number of blocks. */
int spk_cckd_free_read(const uint8_t *file, size_t filelen, int is64, int bigend,
                       const spk_cckd_hdr *hdr, spk_cckd_free *out, size_t maxout,
                       spk_errinfo *err);
/* The same, reading the file through fd with pread (a file that shrinks
 * meanwhile gives SPK_ETRUNC, never a fault). */
int spk_cckd_free_read_fd(int fd, uint64_t filelen, int is64, int bigend,
                          const spk_cckd_hdr *hdr, spk_cckd_free *out, size_t maxout,
                          spk_errinfo *err);
/* Write the linked (old-form) free chain: each block gets {next, len}. */
int spk_cckd_free_link(const spk_cckd_free *blocks, size_t n, int is64, uint8_t *out,
                       size_t outlen, spk_errinfo *err);

/* Append the spaces of n L2 entries (tracks first_trk..) that have storage;
 * sums L2_len into *len_sum and L2_size - L2_len into *imbed_sum.  Returns
 * the count appended, SPK_EFORMAT when an entry has len > size or len < 5. */
int spk_cckd_l2_spaces(const spk_cckd_l2ent *l2, size_t n, uint32_t first_trk,
                       spk_cckd_space *out, size_t maxout, uint64_t *len_sum,
                       uint64_t *imbed_sum, spk_errinfo *err);
/* Sort spaces by offset; report overlaps and spaces past filesize into bad
 * (up to maxbad).  Returns the number of problems; *gap_bytes gets the bytes
 * covered by no space between 0 and the end of the last space. */
int spk_cckd_space_check(spk_cckd_space *sp, size_t n, uint64_t filesize,
                         spk_cckd_overlap *bad, size_t maxbad, uint64_t *gap_bytes);

/* Sort spaces by offset and put the stretches of [start, end) that no space
 * covers into out (overlapping spaces are allowed): the free space a file
 * has by its tables (cckdcdsk's rebuild).  Stretches shorter than minlen (no
 * room for a chain link) are not returned; their bytes go to *lost.  Needs
 * maxout >= n + 1.  Returns the number of stretches. */
int spk_cckd_space_gaps(spk_cckd_space *sp, size_t n, uint64_t start, uint64_t end,
                        uint64_t minlen, spk_cckd_free *out, size_t maxout, uint64_t *lost,
                        spk_errinfo *err);
/* Every space of one compressed file: the headers and L1 table [0, meta_end),
 * each L2 table (l2tabs[g] non-NULL: the table at l1[g]), each stored image
 * and each free block.  Valid spaces fill out from the front (the return value
 * counts them); invalid L2 entries (len < 5, len > size, bad null entry; kind
 * -SPK_SPACE_TRACK) fill it from the back, *nbad of them.  out may be NULL
 * (maxout 0) for the sums only: L2_len into *len_sum, L2_size - L2_len into
 * *imbed_sum. */
int spk_cckd_file_spaces(const uint64_t *l1, uint32_t num_l1, spk_cckd_l2ent *const *l2tabs,
                         uint64_t meta_end, uint32_t l2_bytes, const spk_cckd_free *fr,
                         size_t nfree, spk_cckd_space *out, size_t maxout, size_t *nbad,
                         uint64_t *len_sum, uint64_t *imbed_sum, spk_errinfo *err);
/* CRC-32C identity of a compressed file as a shadow above it records it: its
 * device header (512 bytes), cylinders, L1 size, L1 entries and L2 tables. */
uint32_t spk_cckd_identity(const uint8_t *devhdr, const spk_cckd_hdr *h, const uint64_t *l1,
                           uint32_t num_l1, spk_cckd_l2ent *const *l2tabs);

/* ---- the image check of cckdcdsk levels 2 and 3 (csrc/cckdcheck.c) ---- */

enum spk_cckd_find_kind {
    SPK_CCKD_FIND_HEADER = 0,    /* level 2: the 5-byte header is bad or past the end */
    SPK_CCKD_FIND_EOF = 1,       /* level 3: the image runs past the end of the file */
    SPK_CCKD_FIND_READ = 2,      /* reading it failed: code is the errno */
    SPK_CCKD_FIND_BAD = 3,       /* level 3: spk_cckd_trk_expand refused it: code, msg */
    SPK_CCKD_FIND_HERC3 = 4      /* level 3: readable, spk_cckd_herc_check flags it: msg */
};

typedef struct spk_cckd_finding {
    uint32_t trk;            /* track (CFBA: block group) number */
    int32_t what;            /* SPK_CCKD_FIND_* */
    int32_t code;            /* SPK_E* (FIND_BAD, FIND_HERC3) or errno (FIND_READ) */
    uint64_t off;            /* the image's offset in the file */
    char msg[200];           /* why (FIND_BAD, FIND_HERC3), NUL-terminated */
} spk_cckd_finding;

/* Check the stored images of the n L2 entries l2[0..n) (tracks or CFBA groups
 * first_trk..) of the compressed file open on fd, as cckdcdsk does: level 2
 * each image's 5-byte header (compression code 0..2, then the track's CCHH
 * or the group number), level 3 the whole image, expanded into a per-thread
 * buffer of trksize bytes by spk_cckd_trk_expand (kind, heads, flags as
 * there) and, CKD, spk_cckd_herc_check.  Entries without an image (off 0 or
 * UINT64_MAX, len < 5, len > size) are skipped.  Images are read with pread,
 * images that lie close together in one read of a bounded window; an image
 * past the end of the file is a finding.  Findings go to out in track order,
 * one per track at most; returns how many there were (only the first maxout
 * are stored), negative for bad arguments or no memory. */
int spk_cckd_check_images(int fd, const spk_cckd_l2ent *l2, uint32_t n, uint32_t first_trk,
                          int kind, uint32_t heads, int flags, uint32_t trksize, int level,
                          spk_cckd_finding *out, size_t maxout, spk_errinfo *err);

/* ==== tape images (csrc/tape.c) ========================================= */

enum spk_tape_format {
    SPK_TAPE_AWS = 0,        /* AWS / HET: 6-byte chunk headers (HET = AWS + compression) */
    SPK_TAPE_FAKETAPE = 1    /* Flex FakeTape: 12-character ASCII hex headers */
};

enum spk_tape_const {
    SPK_TAPE_MAXBLOCK = 2097152,   /* HETMAX_BLOCKSIZE */
    SPK_TAPE_MAXCHUNK = 65535,
    SPK_TAPE_AWS_HDR = 6,
    SPK_TAPE_FKT_HDR = 12,
    SPK_TAPE_BOR = 0x80, SPK_TAPE_TM = 0x40, SPK_TAPE_EOR = 0x20,
    SPK_TAPE_ZLIB = 0x01, SPK_TAPE_BZIP2 = 0x02, SPK_TAPE_BUSTECH = 0x80
};

typedef struct spk_tape_block {
    uint64_t offset;         /* offset of the block's first header */
    uint64_t next;           /* offset just after the block */
    uint32_t stored;         /* payload bytes as stored (compressed size) */
    uint32_t length;         /* payload bytes after decompression (read_block only) */
    uint32_t chunks;
    uint32_t prev;           /* previous-chunk (FakeTape: previous-block) length field */
    uint32_t last_chunk;     /* length of the block's last chunk */
    int tapemark;
    int method;              /* SPK_COMP_* */
} spk_tape_block;

/* A window onto a tape file: bytes [base, base + len) of a file of size
 * bytes (read with pread; nothing is mapped, so a file that shrinks meanwhile
 * gives short reads, never a fault).  Readers return SPK_EWINDOW when the
 * block they need lies in the file but past the window: the caller reads a
 * window starting at the offset in the error and calls again.  A block spans
 * at most SPK_TAPE_MAXSPAN bytes of the file. */
typedef struct spk_tape_src {
    const uint8_t *buf;
    uint64_t base;
    uint64_t len;
    uint64_t size;
    int format;              /* SPK_TAPE_AWS / SPK_TAPE_FAKETAPE */
} spk_tape_src;

enum spk_tape_span { SPK_TAPE_MAXSPAN = 14680070 };   /* 7 * SPK_TAPE_MAXBLOCK + 6 */

/* Walk the headers of the block at off: 1 at end of tape (off == size),
 * 0 with *b filled, or an error naming the offset. */
int spk_tape_scan_block(const spk_tape_src *s, uint64_t off, spk_tape_block *b,
                        spk_errinfo *err);

/* Scan, gather and decompress the block at off into out (at most outcap
 * bytes); returns the data length (0 for a tapemark); SPK_ENOTFOUND at the
 * end of the tape. */
int spk_tape_read_block(const spk_tape_src *s, uint64_t off, uint8_t *out, size_t outcap,
                        spk_tape_block *b, spk_errinfo *err);

/* Frame one block (or a tapemark when data is NULL) into out: compress the
 * whole block first (method SPK_COMP_*, kept only if smaller), then chunks of
 * at most chunksize bytes.  prev is the length of the previous chunk (block
 * for FakeTape).  Returns the framed size; *last gets the last chunk length.
 * out needs len + (len / chunksize + 1) * 12 + 64 bytes. */
int spk_tape_build_block(const uint8_t *data, size_t len, int format, int method, int level,
                         uint32_t chunksize, uint32_t prev, uint8_t *out, size_t outcap,
                         uint32_t *last, uint32_t *stored, spk_errinfo *err);

/* Where the segment boundary after off lies: whole blocks are scanned from
 * off until at least target bytes are covered or the tape ends.  Returns 0
 * with *next set (== off only at the end of the tape), or an error with *next
 * at the last boundary reached (SPK_EWINDOW: the window ended there). */
int spk_tape_split(const spk_tape_src *s, uint64_t off, uint64_t target, uint64_t *next,
                   spk_errinfo *err);

typedef struct spk_tape_recode_stat {
    uint64_t next;           /* source offset after the last block copied */
    uint64_t bytes;          /* data bytes copied (after decompression) */
    uint32_t blocks;         /* data blocks copied */
    uint32_t tapemarks;
    uint32_t last;           /* last chunk (FakeTape: block) length written */
} spk_tape_recode_stat;

/* Copy the blocks of a tape window from off up to end (a block boundary, e.g.
 * from spk_tape_split) into out in another format: each block is read,
 * decompressed, and framed again as spk_tape_build_block does (dstmethod,
 * level, chunksize; prev = the previous chunk length on the destination).
 * Stops early, before a block whose worst case would not fit in out; st
 * says where.  Returns the bytes written to out (outcap <= INT_MAX). */
int spk_tape_recode(const spk_tape_src *s, uint64_t off, uint64_t end, int dstformat,
                    int dstmethod, int level, uint32_t chunksize, uint32_t prev,
                    uint8_t *out, size_t outcap, spk_tape_recode_stat *st, spk_errinfo *err);

typedef struct spk_tape_filestat {
    uint64_t blocks, bytes, stored;
    uint32_t min_block, max_block, min_stored, max_stored;
    uint64_t first_offset;   /* offset of the file's first block */
} spk_tape_filestat;

enum spk_tape_stop {
    SPK_TAPE_STOP_END = 0,     /* the end of the tape */
    SPK_TAPE_STOP_FULL = 1,    /* maxfiles entries filled */
    SPK_TAPE_STOP_MARKS = 2,   /* max_marks tapemarks passed */
    SPK_TAPE_STOP_WINDOW = 3   /* the next block lies past the window: read on at off */
};

/* State of a walk over a tape, carried from one call (window) to the next;
 * zero it, set off, decompress and max_marks, then call until it stops
 * elsewhere than at the window. */
typedef struct spk_tape_walk_state {
    uint64_t off;            /* in: where to go on; out: where the walk stopped */
    uint32_t last;           /* out: last chunk (FakeTape: block) length before off */
    int decompress;          /* in: inflate compressed blocks to count their real size */
    uint64_t max_marks;      /* in: stop after this many tapemarks (0: no limit) */
    uint64_t marks_left;     /* set to max_marks before the first call */
    uint64_t blocks;         /* out: blocks and tapemarks passed */
    uint64_t data_blocks;
    uint64_t tapemarks;
    uint64_t data_end;       /* offset after the last data block passed (0: none) */
    uint64_t trailing;       /* tapemarks since the last data block */
    uint64_t mark[2];        /* offsets of the last two of those (in order) */
    spk_tape_filestat cur;   /* the file being counted */
    int stop;                /* out: SPK_TAPE_STOP_* */
    uint64_t need;           /* out (STOP_WINDOW): bytes from off the next block needs */
} spk_tape_walk_state;

/* Walk blocks from w->off: with files, one entry per tapemark-ended file and
 * one for blocks after the last tapemark, at most maxfiles per call.
 * Returns the entries filled, or an error. */
int spk_tape_walk(const spk_tape_src *s, spk_tape_walk_state *w, spk_tape_filestat *files,
                  size_t maxfiles, spk_errinfo *err);

/* spk_tape_walk over the open tape file fd, reading windows into buf (cap
 * bytes) with pread itself: wide bytes at a time, or one header at a time
 * where blocks are large and only headers are needed.  *s is the window
 * (kept between calls; zero it first).  Returns the entries filled, or an
 * error; SPK_EBUFSIZE (err->index: the size needed) when a block does not
 * fit in cap bytes: call again with a larger buffer. */
int spk_tape_walk_fd(int fd, spk_tape_src *s, uint8_t *buf, size_t cap, uint64_t wide,
                     spk_tape_walk_state *w, spk_tape_filestat *files, size_t maxfiles,
                     spk_errinfo *err);

/* ==== spool pages (csrc/spool.c) ======================================== */

enum spk_spool_consts {
    SPK_SPOOL_PAGE = 4096,
    SPK_SPOOL_TAGLEN = 136,     /* tag text: the NOP entry opening the first page */
    SPK_SPOOL_MAXREC = 4004,    /* most data bytes one entry (one page) holds */
    SPK_SPOOL_MAXENTRIES = 502, /* most entries one page holds (8-byte immediates) */
    SPK_SPOOL_DATACAP = 4016,   /* CCW/data area per page, X'010'-X'FBF' */
    SPK_SPOOL_RAW_DATACAP = 4048,   /* reader pages as vmur reads them: X'010'-X'FDF' */
    SPK_SPOOL_RAW_MAXENTRIES = 506
};

enum spk_spool_flags {
    SPK_SPOOL_RAW = 1,          /* vmur reader form: no links, sequence numbers or CRC;
                                   unpack reads entries as vmur does (see spk_spool_unpack) */
    SPK_SPOOL_NOCRC = 2,        /* unpack: do not verify page CRCs */
    SPK_SPOOL_ANYID = 4,        /* unpack: do not compare SPFILID with spoolid */
    SPK_SPOOL_CHKTIME = 8,      /* unpack: compare SPTIME with time as well */
    SPK_SPOOL_STRIP = 16        /* unpack: remove the records' trailing blanks as CP does
                                   (a blank record keeps one) */
};

/* One chain's constants and, for unpack, its walk state (zero it to start). */
typedef struct spk_spool_chain {
    uint16_t spoolid;           /* SPFILID of every page */
    uint8_t time[6];            /* SPTIME of every page */
    uint8_t node[8];            /* X'FC0' origin node */
    uint8_t user[8];            /* X'FC8' origin userid */
    uint8_t trailer[40];        /* X'FD0'-X'FF7' of the first page (CRC bytes ignored) */
    int flags;                  /* SPK_SPOOL_* */
    uint32_t npages;            /* unpack: pages in the chain, 0 = until a 0 link */
    uint32_t seq;               /* unpack: pages walked so far */
    int64_t prev;               /* unpack: address of the last page walked, -1 unknown */
    uint32_t next;              /* unpack: SPNXTPAG of the last page walked */
    uint32_t data_crc;          /* CRC-32C of the whole pages packed / walked so far */
    uint64_t records;           /* unpack: records delivered so far */
    uint8_t tag[136];           /* unpack: the tag text (blank padded) */
    int have_tag;
} spk_spool_chain;

/* CRC-32C (Castagnoli); SSE4.2 when the CPU has it.  crc = previous result
 * (0 to start).  _sw is the table version, for tests. */
uint32_t spk_crc32c(uint32_t crc, const uint8_t *buf, size_t len);
uint32_t spk_crc32c_sw(uint32_t crc, const uint8_t *buf, size_t len);
/* CRC-32C of a 4096-byte page without its CRC field (bytes X'FD4'-X'FD7') */
uint32_t spk_spool_page_crc(const uint8_t *page);

/* Pages a record stream needs (tag included); maxlen gets the longest record
 * after trailing blanks are removed. */
int64_t spk_spool_measure(const uint8_t *data, size_t datalen, const uint8_t *ops,
                          const uint32_t *ends, size_t n, uint32_t *maxlen, spk_errinfo *err);

/* Pack tag (136 bytes) + records into exactly npages pages at out, the i-th
 * page linked as addrs[i] (addrs may be NULL for SPK_SPOOL_RAW).  Sets
 * ch->data_crc.  Returns npages. */
int64_t spk_spool_pack(uint8_t *out, size_t outlen, const uint32_t *addrs, size_t npages,
                       const uint8_t *tag, const uint8_t *data, size_t datalen,
                       const uint8_t *ops, const uint32_t *ends, size_t n,
                       spk_spool_chain *ch, spk_errinfo *err);

/* Add base to n record end offsets (joining record blocks). */
void spk_spool_rebase(uint32_t *ends, size_t n, uint32_t base);

/* Unpack npages pages (the next batch of the chain in ch; addrs, when given,
 * are the addresses they were read from) into data/ops/ends (ends relative to
 * data).  Checks CRC, spool ID, sequence, both links and every entry length.
 * Returns the number of records; *datalen their bytes.  With SPK_SPOOL_RAW the
 * entries may reach X'FE0' and lengths need not be doubleword multiples; a NOP
 * entry always has a length field and delivers nothing (the first of the first
 * page is the tag); an X'10' entry of a data command (opcode & 3 != 3) delivers
 * nothing; a 0-byte entry of a control command delivers one blank.  Size data
 * and ops/ends for SPK_SPOOL_RAW_DATACAP / _MAXENTRIES per page. */
int64_t spk_spool_unpack(const uint8_t *pages, size_t len, const uint32_t *addrs, size_t npages,
                         spk_spool_chain *ch, uint8_t *data, size_t datacap, uint8_t *ops,
                         uint32_t *ends, size_t maxrec, uint64_t *datalen, spk_errinfo *err);

/* ==== spool archive blocks (csrc/archive.c) ============================= */

enum spk_archive_const {
    SPK_ARCH_PAGES_PER_BLOCK = 15, /* pages per SPKP block (fits a 65535-byte block) */
    SPK_ARCH_SPKF_HDR = 48,        /* SPKF fields before the header page */
    SPK_ARCH_SPKP_HDR = 16,        /* SPKP fields before the pages */
    SPK_ARCH_STREAM = 2,           /* framing of a minidisk archive (beside SPK_TAPE_*) */
    SPK_ARCH_STREAM_HDR = 8        /* its block header: length BE32, flags, 3 zero bytes */
};

/* How blocks are framed: SPK_TAPE_AWS (HET when method != SPK_COMP_NONE),
 * SPK_TAPE_FAKETAPE or SPK_ARCH_STREAM. */
typedef struct spk_archive_frame {
    int format;
    int method;                    /* SPK_COMP_*: AWS only */
    int level;
    uint32_t chunksize;            /* AWS chunk size 1..65535 */
    uint32_t prev;                 /* in: length of the chunk (FakeTape: block) before the
                                      output; out: of the last one written */
    uint32_t blocks;               /* out: blocks written */
} spk_archive_frame;

/* The fixed fields of a file's SPKF block (docs/formats.md "Archives"). */
typedef struct spk_archive_file {
    uint32_t fileseq;
    uint32_t pages;
    uint32_t records;
    uint32_t spoolid;
    uint8_t owner[8];              /* EBCDIC, blank padded */
    uint64_t created;
    uint32_t crc;
} spk_archive_file;

/* Most bytes spk_archive_encode writes for an SPKF block (header != 0) plus
 * npages pages; SPK_EARG for a bad framing. */
int64_t spk_archive_bound(const spk_archive_frame *fr, int header, uint64_t npages);

/* Frame a file's archive blocks back to back into out: its SPKF block when
 * header_page is given (hlen 4096), then SPKP blocks of the len bytes of
 * pages (whole pages; the first is page `first` of the file).  Unless final,
 * the pages must end on a block boundary (a multiple of 15 pages).  Returns
 * the bytes written; fr->prev and fr->blocks are updated. */
int64_t spk_archive_encode(const spk_archive_file *f, const uint8_t *header_page, size_t hlen,
                           uint32_t first, const uint8_t *pages, size_t len, int final,
                           spk_archive_frame *fr, uint8_t *out, size_t outcap,
                           spk_errinfo *err);

/* ==== DDR tapes (csrc/ddr.c) ============================================ */

/* VM/370 DASD Dump Restore tapes as DMKDDR writes them (docs/formats.md
 * "DDR tapes"): per track a THR buffer (32 fixed bytes: id, counts, flag,
 * home address, R0; the count fields; the key and data of every record) cut
 * into 4096-byte blocks and one short last block of at least 80 bytes. */
enum spk_ddr_const {
    SPK_DDR_BLOCK = 4096,        /* a full block */
    SPK_DDR_MINBLOCK = 80,       /* the shortest block DMKDDR writes */
    SPK_DDR_HDR = 80,            /* VHR / EOV / EOJ record */
    SPK_DDR_THR = 32,            /* THR bytes before the count fields */
    SPK_DDR_SPECIAL = 1,         /* THRFLAG: last record written with write special CKD */
    SPK_DDR_MAXTRACK = 69632,    /* largest THR buffer accepted (17 blocks) */
    SPK_DDR_KEEPHA = 16,         /* encode: keep the HA flag byte (2311/2314/2305) */
    SPK_DDR_R0_RELOCATE = 32     /* read: R0's CCHH becomes the (reordered) track's */
};

/* One track as it is on tape (THR fields) and, when read with images, the
 * track image rebuilt from it. */
typedef struct spk_ddr_track {
    uint64_t offset;         /* tape offset of the THR block */
    uint64_t block;          /* its block number (the reader's count) */
    uint32_t image;          /* read: offset of the rebuilt image in out */
    uint32_t image_len;      /* read: its length (0 when no images are made) */
    uint32_t length;         /* THR buffer bytes used: 32 + 8 n + keys + data */
    uint32_t tape_bytes;     /* blocks' bytes: 4096 nblocks + shortlen */
    uint16_t cyl, head;      /* THRHADD CCHH (reordered at dump time) */
    uint16_t nrecs;          /* THRNDRD: count fields after R0 */
    uint16_t nblocks;        /* THRNDRT: 4096-byte blocks, the THR block among them */
    uint16_t shortlen;       /* THRDRL: the short last block, 0 if none */
    uint8_t haflag;          /* THRHADD flag byte */
    uint8_t thrflag;         /* THRFLAG (SPK_DDR_SPECIAL) */
    uint32_t key_bytes, data_bytes;
} spk_ddr_track;

/* The THR buffer of a track image (HA through EOT) into out: its fixed part
 * with home address cyl/head (the output address), R0, the count fields
 * (track-overflow bits cleared; the last record's becomes THRFLAG SPECIAL)
 * and the key and data bytes, zero-padded to the blocking's length.
 * flags: SPK_TRK_OVERFLOW (CC X'8000' is the overflow flag), SPK_DDR_KEEPHA.
 * Returns the bytes of the blocks (4096 nblocks + shortlen); t gets the
 * THR's fields. */
int spk_ddr_track_encode(const uint8_t *img, size_t len, uint32_t cyl, uint32_t head, int flags,
                         uint8_t *out, size_t outcap, spk_ddr_track *t, spk_errinfo *err);

/* Most bytes spk_ddr_encode writes for n images ending at ends[] (framed
 * as fr says); SPK_EARG for a bad framing. */
int64_t spk_ddr_bound(const uint32_t *ends, size_t n, const spk_archive_frame *fr);

/* Encode n track images (imgs, the i-th ending at ends[i]) for output
 * addresses addrs[i] (cyl << 16 | head) and frame their blocks as fr says
 * (the first header's previous-length field is fr->prev).  Per track:
 * track_end[i] = output bytes through it, track_last[i] = its last chunk
 * (FakeTape: block) length, track_blocks[i] = blocks through it.  Errors
 * name the track in err->index.  Returns the bytes written; fr->prev and
 * fr->blocks are updated. */
int64_t spk_ddr_encode(const uint8_t *imgs, size_t len, const uint32_t *ends,
                       const uint32_t *addrs, size_t n, int flags, spk_archive_frame *fr,
                       uint8_t *out, size_t outcap, uint64_t *track_end, uint32_t *track_last,
                       uint32_t *track_blocks, spk_errinfo *err);

enum spk_ddr_stop {
    SPK_DDR_STOP_FULL = 0,       /* the track table or the image buffer is full */
    SPK_DDR_STOP_TRAILER = 1,    /* an EOV or EOJ record was read (in trailer) */
    SPK_DDR_STOP_MARK = 2,       /* a tapemark was read */
    SPK_DDR_STOP_END = 3,        /* the end of the tape */
    SPK_DDR_STOP_WINDOW = 4      /* the next track goes past the window: read on at off */
};

/* State of a read over the tracks of a DDR tape file, carried from one call
 * (window) to the next. */
typedef struct spk_ddr_reader {
    uint64_t off;            /* in/out: offset of the next block */
    uint64_t block;          /* in/out: number of that block */
    uint32_t last;           /* out: chunk (FakeTape: block) length before off */
    int flags;               /* in: SPK_TRK_OVERFLOW, SPK_DDR_R0_RELOCATE */
    int32_t cyl_delta;       /* in: added to each track's cylinder in the images */
    uint32_t sel_first;      /* in: images only of tracks whose THR cylinder is in */
    uint32_t sel_last;       /*     sel_first..sel_last (the others: their THR only) */
    int stop;                /* out: SPK_DDR_STOP_* */
    uint64_t need;           /* out (STOP_WINDOW): bytes from off the next track needs */
    uint8_t trailer[80];     /* out (STOP_TRAILER): the EOV / EOJ record */
    int32_t cur_cyl;         /* out: THR address of the track an error is in, -1 if none */
    int32_t cur_head;
    int bad_id;              /* out: the error is a block that is no DDR record */
} spk_ddr_reader;

/* Read whole tracks from r->off: each track's blocks are read (and
 * decompressed), checked against the blocking its THR announces, and, when
 * out is given, rebuilt into a track image (HA, R0, records with the
 * overflow flag of a SPECIAL track's last record, EOT).  work: at least
 * SPK_DDR_MAXTRACK bytes.  Stops before a track that does not fit in out or
 * in the window (r->stop).  Errors name the block (err->index) and the
 * track (r->cur_cyl, r->cur_head).  Returns the tracks filled. */
int spk_ddr_read(const spk_tape_src *s, spk_ddr_reader *r, spk_ddr_track *tracks,
                 size_t maxtracks, uint8_t *out, size_t outcap, uint8_t *work, size_t worklen,
                 spk_errinfo *err);
/* ==== CMS minidisks (csrc/cms.c) ======================================== */

/* Where the blocks of a CMS minidisk lie on CKD tracks: per_group blocks per
 * group of group_tracks tracks, block b (1-based) being record R = (b - 1) %
 * per_group + 1 of group (b - 1) / per_group.  On the 2314/2319 a group is a
 * track pair of 15 blocks: R1..R(split_rec) on the first track, the split
 * record continuing (track overflow) on the second with the rest; split_len
 * is how many of its bytes the first track holds when spoolkit formats it. */
typedef struct spk_cms_layout {
    uint32_t blksize;        /* bytes of a CMS block: 800, or 512..4096 (EDF) */
    uint32_t per_group;      /* blocks per track group (1..255) */
    uint32_t group_tracks;   /* 1, or 2 for a 2314 track pair */
    uint32_t split_rec;      /* 2314: the record split across the pair (8); else 0 */
    uint32_t split_len;      /* 2314: its bytes on the first track */
    uint32_t tracks;         /* tracks of the extent */
    uint32_t heads;          /* tracks per cylinder */
    uint32_t first_cyl;      /* the extent's first cylinder on the volume */
    uint32_t check_ha;       /* 1: each home address must be its track's (cylinder
                                first_cyl + t / heads, head t % heads) */
} spk_cms_layout;

/* Gather the blocks held by ntracks consecutive track images of an extent
 * (image i at buf + offs[i], lens[i] bytes; the first is extent track
 * first_trk, the first of its group) into out, one block after the other
 * from the first block of first_trk.  present[k] gets 1 for each block found
 * whole.  Records must be keyless, numbered as the layout says and at least a
 * block long (a longer record gives its first blksize bytes: CP-67 829-byte
 * records).  Errors name the extent track in err->index.  Returns the number
 * of blocks found. */
int spk_cms_gather(const uint8_t *buf, size_t buflen, const uint32_t *offs, const uint32_t *lens,
                   uint32_t ntracks, uint32_t first_trk, int trkflags, const spk_cms_layout *lay,
                   uint8_t *out, size_t outlen, uint8_t *present, spk_errinfo *err);
/* The same, each block going to every place i of out (blocks of blksize)
 * where list[i] names it; order is list's indexes sorted by block number
 * (spk_cms_order).  got[i] is set for each place filled. */
int spk_cms_gather_to(const uint8_t *buf, size_t buflen, const uint32_t *offs,
                      const uint32_t *lens, uint32_t ntracks, uint32_t first_trk, int trkflags,
                      const spk_cms_layout *lay, const uint32_t *list, const uint32_t *order,
                      size_t n, uint8_t *out, size_t outlen, uint8_t *got, spk_errinfo *err);
/* Where one file's blocks go: len bytes at data. */
typedef struct spk_cms_dest {
    uint8_t *data;
    uint64_t len;
} spk_cms_dest;
/* The same for many files at once: request i belongs to the file f with
 * fstart[f] <= i < fstart[f + 1] (fstart has nf + 1 entries, 0 .. n) and its
 * block goes to fdst[f].data + (i - fstart[f]) * blksize, cut at fdst[f].len
 * bytes (F records land where they stay; the rest of a last block is
 * dropped).  Each len is at most the file's blocks' bytes. */
int spk_cms_gather_files(const uint8_t *buf, size_t buflen, const uint32_t *offs,
                         const uint32_t *lens, uint32_t ntracks, uint32_t first_trk, int trkflags,
                         const spk_cms_layout *lay, const uint32_t *list, const uint32_t *order,
                         size_t n, const uint64_t *fstart, size_t nf, const spk_cms_dest *fdst,
                         uint8_t *got, spk_errinfo *err);
/* The same, reading the track slots itself: spans[2k] (a group's first
 * extent track) and spans[2k + 1] (tracks) name runs of extent tracks whose
 * slots (trksize bytes, extent track t at off0 + t * trksize in fd) are read
 * with pread a few at a time, so the gather finds them in cache.  A short
 * read is SPK_ETRUNC (err->offset the file offset, err->index the extent
 * track). */
int spk_cms_gather_files_fd(int fd, int64_t off0, uint32_t trksize, const uint32_t *spans,
                            size_t nspans, int trkflags, const spk_cms_layout *lay,
                            const uint32_t *list, const uint32_t *order, size_t n,
                            const uint64_t *fstart, size_t nf, const spk_cms_dest *fdst,
                            uint8_t *got, spk_errinfo *err);
/* order[0..n) = the indexes of list sorted (stably) by value. */
int spk_cms_order(const uint32_t *list, size_t n, uint32_t *order, spk_errinfo *err);
/* The reverse, in place: every block k with dirty[k] set is copied into the
 * data of its record(s) (the images keep their lengths); dirty[k] becomes 2
 * and tdirty[i] 1 for each track changed.  A dirty block without its records
 * is an error (the track is not formatted for CMS).  Returns blocks written. */
int spk_cms_scatter(uint8_t *buf, size_t buflen, const uint32_t *offs, const uint32_t *lens,
                    uint32_t ntracks, uint32_t first_trk, int trkflags, const spk_cms_layout *lay,
                    const uint8_t *blocks, size_t blen, uint8_t *dirty, uint8_t *tdirty,
                    spk_errinfo *err);
/* A CMS-formatted track: HA (cyl, head), R0, then the records of track sub of
 * its group with count CCHH (rcyl, rhead) and the group's blocks from data
 * (per_group * blksize bytes; NULL for zeros).  Returns the image length. */
int spk_cms_format_track(uint8_t *out, size_t outlen, uint32_t cyl, uint32_t head,
                         uint32_t rcyl, uint32_t rhead, uint32_t sub, const spk_cms_layout *lay,
                         const uint8_t *data, size_t datalen, spk_errinfo *err);
/* Set mark[g] for the track group of every block (0 = a null block, skipped);
 * a block past maxblock is SPK_ERANGE.  Returns the groups newly marked. */
int spk_cms_groups(const uint32_t *blocks, size_t n, uint32_t per_group, uint32_t maxblock,
                   uint8_t *mark, size_t nmark, spk_errinfo *err);

/* VM/370: the chain link blocks (2..41) a file of nblocks data blocks needs,
 * from its 200-byte first chain link.  Returns how many (0..40). */
int spk_cms_vm370_links(const uint8_t *fcl, size_t len, uint32_t nblocks, uint32_t maxblock,
                        uint32_t *out, spk_errinfo *err);
/* VM/370: the nblocks data block numbers of a file from its first chain link
 * and its Nth chain links (800 bytes each, in order).  Each must lie in
 * 5..maxblock and appear once, also not as one of the meta blocks (first and
 * Nth chain links): else SPK_EFORMAT / SPK_ERANGE / SPK_ELOOP with the data
 * block index.  Returns nblocks. */
int spk_cms_vm370_blocks(const uint8_t *fcl, size_t fcllen, const uint8_t *links, size_t linkslen,
                         uint32_t nblocks, uint32_t maxblock, const uint32_t *meta, size_t nmeta,
                         uint32_t *out, size_t maxout, spk_errinfo *err);
/* VM/370: first chain link (200 bytes) and Nth chain links (nlinks * 800)
 * naming data blocks data[0..n) and chain links links[0..nlinks). */
int spk_cms_vm370_build(const uint32_t *data, size_t n, const uint32_t *links, size_t nlinks,
                        uint8_t *fcl, size_t fcllen, uint8_t *linkbuf, size_t linkslen,
                        spk_errinfo *err);

/* EDF: count pointers from pointer blocks buf (blksize each): 4-byte block
 * numbers (F), or 12-byte {block, highest record, displacement} (var != 0).
 * A block past maxblock is SPK_ERANGE; 0 is a null block. */
int64_t spk_cms_edf_ptrs(const uint8_t *buf, size_t len, uint32_t blksize, int var,
                         uint64_t count, uint32_t maxblock, uint32_t *out, uint32_t *hirec,
                         uint32_t *disp, spk_errinfo *err);
/* spk_cms_edf_ptrs for nf files at once, the block numbers only: file f's
 * pointer blocks are nblk[f] blocks at buf + first[f] * blksize, V pointers
 * when var[f]; its count[f] block numbers go to out + ostart[f] (nout in
 * all).  On an error *bad is the file (the error is its spk_cms_edf_ptrs').
 * Returns the block numbers written. */
int64_t spk_cms_edf_ptrs_many(const uint8_t *buf, size_t len, uint32_t blksize, size_t nf,
                              const uint8_t *var, const uint64_t *first, const uint64_t *nblk,
                              const uint64_t *count, const uint64_t *ostart, uint32_t maxblock,
                              uint32_t *out, size_t nout, uint64_t *bad, spk_errinfo *err);
/* EDF: pack n pointers into ceil(n / per block) pointer blocks at out; for V
 * also each block's highest record and first displacement (for the level
 * above) and the offset of its last entry in its last 4 bytes.  Returns the
 * number of pointer blocks. */
int64_t spk_cms_edf_ptrblocks(const uint32_t *children, const uint32_t *hirec, const uint32_t *disp,
                              uint64_t n, uint32_t blksize, int var, uint8_t *out, size_t outcap,
                              uint32_t *up_hirec, uint32_t *up_disp, spk_errinfo *err);

/* Allocation bitmaps: bit 7 of byte 0 is block 1.  alloc takes the count
 * lowest free blocks (first fit, as CMS) into out, or SPK_ENOSPACE leaving
 * the map unchanged.  set gives blocks the value (1 used, 0 free) and returns
 * how many changed; *bad (when given) gets the first block already in that
 * state.  count: blocks in use.  diff: blocks set in a and clear in b (the
 * first maxout into out).  mark: set every block; returns how many were set
 * already (the first maxdups into dups). */
int64_t spk_cms_bitmap_alloc(uint8_t *map, size_t maplen, uint32_t nbits, uint32_t count,
                             uint32_t *out, spk_errinfo *err);
int64_t spk_cms_bitmap_set(uint8_t *map, size_t maplen, uint32_t nbits, const uint32_t *blocks,
                           size_t n, int value, uint32_t *bad, spk_errinfo *err);
int64_t spk_cms_bitmap_count(const uint8_t *map, size_t maplen, uint32_t nbits);
int64_t spk_cms_bitmap_diff(const uint8_t *a, const uint8_t *b, size_t maplen, uint32_t nbits,
                            uint32_t *out, size_t maxout);
int64_t spk_cms_mark(uint8_t *map, size_t maplen, uint32_t nbits, const uint32_t *blocks,
                     size_t n, uint32_t *dups, size_t maxdups);

/* Records of a file from its data blocks (len bytes): F, nrecs * lrecl bytes;
 * V (var != 0), a 2-byte length before each record (never 0, at most lrecl).
 * The record bytes go to out back to back, ends[i] the end of record i; out
 * NULL only checks the records and fills ends, and V records may be unpacked
 * in place (out == data).  Returns the record bytes. */
int64_t spk_cms_unpack(const uint8_t *data, size_t len, int var, uint32_t lrecl, uint64_t nrecs,
                       uint8_t *out, size_t outcap, uint32_t *ends, spk_errinfo *err);
/* The records of nf files at once, their ends one file after the other in
 * ends (nrecs[f] each).  kind[f] 0: F records already where they stay (only
 * their ends: multiples of lrecl[f]); 1: F and 2: V records in the len[f]
 * bytes of blocks at buf + at[f], checked as spk_cms_unpack checks them, V
 * records moved to the start of that place.  size[f] gets each file's record
 * bytes; on an error *bad is the file (the error is its spk_cms_unpack's).
 * Returns the ends filled. */
int64_t spk_cms_unpack_files(uint8_t *buf, size_t buflen, size_t nf, const uint8_t *kind,
                             const uint64_t *at, const uint64_t *len, const uint32_t *lrecl,
                             const uint64_t *nrecs, uint32_t *ends, size_t nends, uint64_t *size,
                             uint64_t *bad, spk_errinfo *err);
/* The reverse: records (data, ends) as F lrecl or V, zero padded to whole
 * blocks.  For V, disp[k] gets the offset of the first record starting in
 * block k (0xFFFFFFFF: none) and hirec[k] the number of the last record seen
 * there (nblk entries; both may be NULL).  Returns the bytes in out. */
int64_t spk_cms_pack(const uint8_t *data, size_t datalen, const uint32_t *ends, uint64_t n, int var,
                     uint32_t lrecl, uint32_t blksize, uint8_t *out, size_t outcap,
                     uint32_t *disp, uint32_t *hirec, size_t nblk, spk_errinfo *err);
/* Records as lines: each record (trailing blank bytes dropped when strip)
 * followed by sep.  Returns the bytes in out. */
int64_t spk_cms_join(const uint8_t *data, size_t len, const uint32_t *ends, uint64_t n,
                     int strip, uint8_t blank, uint8_t sep, uint8_t *out, size_t outcap,
                     spk_errinfo *err);
/* Lines (ended by sep, a cr before it dropped) as records: F lines padded to
 * lrecl with pad (a longer line is an error), V lines as they are (an empty
 * line becomes one pad byte).  Returns the number of records. */
int64_t spk_cms_lines(const uint8_t *text, size_t len, uint8_t sep, uint8_t cr, int fixed,
                      uint32_t lrecl, uint8_t pad, uint8_t *out, size_t outcap, uint32_t *ends,
                      uint64_t maxrec, spk_errinfo *err);

/* Staging buffers: the blocks of whole track groups groups[0..ng) (ascending)
 * back to back.  pick copies blocks[i] into out[i] (block 0: zeros; a block
 * whose present flag is 0 is SPK_ENOTFOUND); place copies data[i] into the
 * block's place in stage and sets its dirty flag. */
int spk_cms_pick(const uint8_t *stage, size_t slen, const uint8_t *present, const uint32_t *groups,
                 size_t ng, uint32_t per_group, uint32_t blksize, const uint32_t *blocks, size_t n,
                 uint8_t *out, size_t outlen, spk_errinfo *err);
int spk_cms_place(uint8_t *stage, size_t slen, uint8_t *dirty, const uint32_t *groups, size_t ng,
                  uint32_t per_group, uint32_t blksize, const uint32_t *blocks, size_t n,
                  const uint8_t *data, size_t datalen, spk_errinfo *err);

/* ==== CMS file tapes (csrc/cmstape.c) =================================== */

/* VMFPLC2 and CMS TAPE DUMP tapes (docs/formats.md "VMFPLC2 and TAPE DUMP
 * tapes"): a file's record stream (the CMS data-block layout) in blocks that
 * start with X'02' and four EBCDIC characters. */
enum spk_cmstape_const {
    SPK_CMSTAPE_PLC = 0,         /* VMFPLC2: PLCH header block, then PLCD data blocks */
    SPK_CMSTAPE_DUMP = 1,        /* TAPE DUMP: "CMS " data blocks, then the CMSN block */
    SPK_CMSTAPE_PREFIX = 5,      /* X'02' + 4 EBCDIC characters */
    SPK_CMSTAPE_PLC_DATA = 4000, /* VMFPLC2 data bytes per full block */
    SPK_CMSTAPE_UNIT = 800,      /* a CMS data block; VMFPLC2 pads its last block to it */
    SPK_CMSTAPE_BLOCK4K = 4096   /* TAPE DUMP data bytes per block from 4K-block disks */
};

/* Most bytes spk_cmstape_dump writes for a stream of len bytes and a header
 * block of hlen (0: none); SPK_EARG for a bad kind or framing. */
int64_t spk_cmstape_bound(uint64_t len, int kind, size_t hlen, const spk_archive_frame *fr);

/* Frame a file's blocks back to back into out as fr says, its record
 * stream made on the way from n records (data, ends: F back to back, each
 * lrecl bytes; V each after a 2-byte length, 1..lrecl bytes): VMFPLC2 the header block hdr (hlen bytes,
 * the PLCH block) first, then PLCD blocks of 4000 stream bytes (the last
 * zero padded to a multiple of 800); TAPE DUMP "CMS " blocks of 800
 * bytes, then hdr (the CMSN block).  fr->prev and fr->blocks are updated.
 * Returns the bytes written. */
int64_t spk_cmstape_dump(const uint8_t *data, size_t datalen, const uint32_t *ends, uint64_t n,
                         int var, uint32_t lrecl, int kind, const uint8_t *hdr, size_t hlen,
                         spk_archive_frame *fr, uint8_t *out, size_t outcap, spk_errinfo *err);

/* How many V records (each after a 2-byte length, 1..lrecl; a length of 0
 * ends them) data holds; a record running past len is SPK_ETRUNC. */
int64_t spk_cmstape_vcount(const uint8_t *data, size_t len, uint32_t lrecl, spk_errinfo *err);

/* A run of data blocks read from a tape window, restartable: after
 * SPK_EWINDOW (the window must move, err says where) call again with r as
 * it was left.  Set off and block (the next block's offset and number) once,
 * n = pos = 0 before each run. */
typedef struct spk_cmstape_run {
    uint64_t off;            /* in/out: offset of the next block */
    uint64_t block;          /* in/out: its number (tapemarks count) */
    uint32_t n;              /* out: data blocks in out */
    uint32_t pos;            /* out: bytes in out */
    int stop;                /* out: SPK_CMSTAPE_STOP_* */
    uint32_t other_len;      /* STOP_OTHER: that block's length, its bytes at out + 5 + pos */
    uint64_t other_off;      /* STOP_OTHER: its offset */
} spk_cmstape_run;

enum spk_cmstape_stop {
    SPK_CMSTAPE_STOP_OTHER = 0,  /* a block that is no data block (read; off is past it) */
    SPK_CMSTAPE_STOP_MARK = 1,   /* a tapemark (read) */
    SPK_CMSTAPE_STOP_END = 2,    /* the end of the tape */
    SPK_CMSTAPE_STOP_FULL = 3    /* out or maxn is full */
};

/* Read data blocks (PLCD, or "CMS "/"CMS0") from r->off, their data after
 * the prefixes back to back at out + 5 (block i's ends at out + 5 +
 * ends[i]; the block is at tape offset offs[i]; a CMS0 block's data reads as
 * zeros) until another block (STOP_OTHER: it is whole at out + 5 + pos), a
 * tapemark, the end, or maxn blocks / less than a largest block of room.
 * A data block with no data byte, or a TAPE DUMP one of other than 800 or
 * 4096, is an error naming its number (err->index) and offset.  Returns
 * r->n. */
int spk_cmstape_read(const spk_tape_src *s, spk_cmstape_run *r, int kind, uint8_t *out,
                     size_t outcap, uint32_t *ends, uint64_t *offs, size_t maxn,
                     spk_errinfo *err);
/* ==== VMARC archive members (csrc/vmarc.c) ============================== */

enum spk_vmarc_const {
    SPK_VMARC_HDRLEN = 38,         /* ':CFF' header before each member's stream */
    SPK_VMARC_LZW = 0,
    SPK_VMARC_S2 = 1,
    SPK_VMARC_STORE = 2
};

/* Decode the stream of one member, buf[pos..len) (after its header), into
 * records: F records of lrecl bytes, V records of 1..lrecl.  out/ends get the
 * data and each record's end offset; with out and ends NULL only counts are
 * made (to size them).  Returns the number of records; *datalen gets their
 * bytes and *endpos the offset just past the member's last stream byte.
 * SPK_EBUFSIZE when out or ends is too small, SPK_ECOMPRESS for a code that
 * is not defined or runs past the end, SPK_ETRUNC when the data ends first,
 * SPK_EFORMAT for a record of the wrong length. */
int64_t spk_vmarc_decode(const uint8_t *buf, size_t len, size_t pos, int method, int fixed,
                         uint32_t lrecl, uint8_t *out, size_t outcap, uint32_t *ends,
                         uint64_t maxrec, uint64_t *datalen, uint64_t *endpos, spk_errinfo *err);
/* Output bytes spk_vmarc_encode may need at most for one member. */
uint64_t spk_vmarc_bound(uint64_t datalen, uint64_t n, int method, uint32_t reclen);
/* One member: the 38 header bytes, then the stream, zero-padded to whole
 * records of reclen (38..32760) bytes.  F records must be lrecl long, V
 * records 1..65535 bytes.  Returns the bytes written. */
int64_t spk_vmarc_encode(const uint8_t *data, size_t datalen, const uint32_t *ends, uint64_t n,
                         int fixed, uint32_t lrecl, int method, const uint8_t *header,
                         uint32_t reclen, uint8_t *out, size_t outcap, spk_errinfo *err);

#endif

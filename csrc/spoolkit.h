/*
 * spoolkit.h - the one public C API of spoolkit's core, also the cffi cdef.
 *
 * cdef rules (spoolkit/_build.py feeds this file to cffi): lines starting
 * with '#' are dropped, so keep every declaration free of macros; use enums
 * for constants and only <stdint.h>/<stddef.h> types.
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
    SPK_ENOSPACE = -13     /* no free space left */
};

typedef struct spk_errinfo {
    int code;              /* SPK_E* */
    int64_t offset;        /* byte offset of the fault in the input, -1 if none */
    int64_t index;         /* record / block / page / track index, -1 if none */
    char msg[200];         /* what was wrong, NUL-terminated */
} spk_errinfo;

const char *spk_version(void);
const char *spk_strerror(int code);

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
    SPK_TRK_STRICT = 8       /* validate: R0 shape, R != 0, R ascending, record CCHH = HA */
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

/* parse + SPK_TRK_STRICT checks + real device capacity when dev != NULL */
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

/* Build a null track: fmt 0 (R0+EOF), 1 (R0 only), 2 (Linux, 12 x 4096). */
int spk_track_null(uint8_t *out, size_t outlen, uint32_t cyl, uint32_t head,
                   int fmt, spk_errinfo *err);

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

/* Compress src into dst (capacity dstcap).  level: zlib 1..12 (libdeflate's
 * scale, 0 or -1 = 6); bzip2 1..9 blockSize100k (else 5).  Returns the
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

/* ==== tape images (csrc/tape.c) ========================================= */

/* ==== spool pages (csrc/spool.c) ======================================== */

enum spk_spool_consts {
    SPK_SPOOL_PAGE = 4096,
    SPK_SPOOL_TAGLEN = 136,     /* tag text: the NOP entry opening the first page */
    SPK_SPOOL_MAXREC = 4004,    /* most data bytes one entry (one page) holds */
    SPK_SPOOL_MAXENTRIES = 502, /* most entries one page holds (8-byte immediates) */
    SPK_SPOOL_DATACAP = 4016    /* CCW/data area per page, X'010'-X'FBF' */
};

enum spk_spool_flags {
    SPK_SPOOL_RAW = 1,          /* vmur reader form: no links, sequence numbers or CRC */
    SPK_SPOOL_NOCRC = 2,        /* unpack: do not verify page CRCs */
    SPK_SPOOL_ANYID = 4,        /* unpack: do not compare SPFILID with spoolid */
    SPK_SPOOL_CHKTIME = 8       /* unpack: compare SPTIME with time as well */
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
 * Returns the number of records; *datalen their bytes. */
int64_t spk_spool_unpack(const uint8_t *pages, size_t len, const uint32_t *addrs, size_t npages,
                         spk_spool_chain *ch, uint8_t *data, size_t datacap, uint8_t *ops,
                         uint32_t *ends, size_t maxrec, uint64_t *datalen, spk_errinfo *err);

#endif

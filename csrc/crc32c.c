/* crc32c.c - CRC-32C (Castagnoli, reflected polynomial 0x82F63B78).
 *
 * SSE4.2's crc32 instruction computes exactly this CRC; it is chosen at run
 * time (cpuid) so the same build runs on machines without it, falling back
 * to a slicing-by-8 table.  spk_crc32c(0, buf, len) is the standard CRC-32C
 * (init and final xor 0xFFFFFFFF applied inside); pass the previous result
 * as crc to extend it over a following buffer.
 */
#include <pthread.h>

#include "internal.h"

static uint32_t crc_table[8][256];
static uint32_t shift256[4][256], shift512[4][256];  /* register over 256/512 zero bytes */
static int crc_mode;      /* 1 = table, 2 = hardware */
static pthread_once_t crc_once = PTHREAD_ONCE_INIT;

static void crc_init(void)
{
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++)
            c = (c & 1) ? (c >> 1) ^ 0x82F63B78u : c >> 1;
        crc_table[0][i] = c;
    }
    for (uint32_t i = 0; i < 256; i++)
        for (int t = 1; t < 8; t++)
            crc_table[t][i] = (crc_table[t - 1][i] >> 8) ^ crc_table[0][crc_table[t - 1][i] & 0xFF];
    for (int which = 0; which < 2; which++) {
        size_t zeros = which ? 512 : 256;
        for (int byte = 0; byte < 4; byte++)
            for (uint32_t v = 0; v < 256; v++) {
                uint32_t r = v << (8 * byte);
                for (size_t k = 0; k < zeros; k++)
                    r = crc_table[0][r & 0xFF] ^ (r >> 8);
                (which ? shift512 : shift256)[byte][v] = r;
            }
    }
    int mode = 1;
#if defined(__x86_64__) || defined(__i386__)
    __builtin_cpu_init();
    if (__builtin_cpu_supports("sse4.2"))
        mode = 2;
#endif
    crc_mode = mode;
}

static uint32_t crc_sw(uint32_t c, const uint8_t *p, size_t n)
{
    while (n && ((uintptr_t)p & 7)) {
        c = crc_table[0][(c ^ *p++) & 0xFF] ^ (c >> 8);
        n--;
    }
    while (n >= 8) {
        uint32_t lo = spk_le32(p) ^ c, hi = spk_le32(p + 4);
        c = crc_table[7][lo & 0xFF] ^ crc_table[6][(lo >> 8) & 0xFF] ^
            crc_table[5][(lo >> 16) & 0xFF] ^ crc_table[4][lo >> 24] ^
            crc_table[3][hi & 0xFF] ^ crc_table[2][(hi >> 8) & 0xFF] ^
            crc_table[1][(hi >> 16) & 0xFF] ^ crc_table[0][hi >> 24];
        p += 8;
        n -= 8;
    }
    while (n--)
        c = crc_table[0][(c ^ *p++) & 0xFF] ^ (c >> 8);
    return c;
}

#if defined(__x86_64__)
__attribute__((target("sse4.2")))
static uint32_t crc_hw(uint32_t c, const uint8_t *p, size_t n)
{
    uint64_t c64;
    while (n && ((uintptr_t)p & 7)) {
        c = __builtin_ia32_crc32qi(c, *p++);
        n--;
    }
    c64 = c;
    /* three independent streams hide the instruction's 3-cycle latency */
    while (n >= 3 * 256) {
        uint64_t a = c64, b = 0, d = 0;
        for (int i = 0; i < 256; i += 8) {
            uint64_t x, y, z;
            memcpy(&x, p + i, 8);
            memcpy(&y, p + 256 + i, 8);
            memcpy(&z, p + 512 + i, 8);
            a = __builtin_ia32_crc32di(a, x);
            b = __builtin_ia32_crc32di(b, y);
            d = __builtin_ia32_crc32di(d, z);
        }
        /* combine: shift a over 512 and b over 256 bytes of zeros */
        uint32_t a32 = (uint32_t)a, b32 = (uint32_t)b;
        uint32_t sa = shift512[0][a32 & 0xFF] ^ shift512[1][(a32 >> 8) & 0xFF] ^
                      shift512[2][(a32 >> 16) & 0xFF] ^ shift512[3][a32 >> 24];
        uint32_t sb = shift256[0][b32 & 0xFF] ^ shift256[1][(b32 >> 8) & 0xFF] ^
                      shift256[2][(b32 >> 16) & 0xFF] ^ shift256[3][b32 >> 24];
        c64 = sa ^ sb ^ (uint32_t)d;
        p += 3 * 256;
        n -= 3 * 256;
    }
    while (n >= 8) {
        uint64_t x;
        memcpy(&x, p, 8);
        c64 = __builtin_ia32_crc32di(c64, x);
        p += 8;
        n -= 8;
    }
    c = (uint32_t)c64;
    while (n--)
        c = __builtin_ia32_crc32qi(c, *p++);
    return c;
}
#endif

uint32_t spk_crc32c(uint32_t crc, const uint8_t *buf, size_t len)
{
    pthread_once(&crc_once, crc_init);
    int mode = crc_mode;
    uint32_t c = ~crc;
#if defined(__x86_64__)
    if (mode == 2)
        return ~crc_hw(c, buf, len);
#endif
    return ~crc_sw(c, buf, len);
}

uint32_t spk_crc32c_sw(uint32_t crc, const uint8_t *buf, size_t len)
{
    pthread_once(&crc_once, crc_init);
    return ~crc_sw(~crc, buf, len);
}
